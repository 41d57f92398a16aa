# CPU time (user + sys) of whole `ecap` processes, two builds alternated run by run: less sensitive to a loaded machine than wall time.
# Usage: python3 bench/startup-cpu.py RUNS   (edit `builds` to the two ecap.dll to compare; `cmds` lake: a small demo lake)
import subprocess, time, statistics, sys, resource
builds = {"before": "/tmp/server-baseline/src/Ecap.Cli/bin/Release/net10.0/ecap.dll", "after": "/work/wt-server/src/Ecap.Cli/bin/Release/net10.0/ecap.dll"}
cmds = {"--version": ["--version"], "list-tables": ["data-lake", "storage", "list-tables", "--lake", "/tmp/srvlake"]}
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
res = {(b, c): [] for b in builds for c in cmds}
for i in range(runs + 1):
    for c, args in cmds.items():
        for b, dll in (builds.items() if i % 2 == 0 else reversed(list(builds.items()))):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            r = subprocess.run(["dotnet", dll] + args, capture_output=True)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            assert r.returncode == 0, r.stderr
            cpu = ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) * 1000
            if i >= 1: res[(b, c)].append(cpu)
for (b, c), v in res.items():
    print(f"{b:7} {c:12} CPU median {statistics.median(v):7.1f} ms  min {min(v):7.1f}  max {max(v):7.1f}  (n={len(v)})")
