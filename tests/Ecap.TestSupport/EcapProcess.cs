using System.Diagnostics;
using System.Text.Json;

namespace Ecap.TestSupport;

/// <summary>Runs the built `ecap` program as a separate process, the way a user or a script does (the test project must reference src/Ecap.Cli so it is built).</summary>
public static class EcapProcess
{
    private static readonly string Dll = FindDll();

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Json() => JsonDocument.Parse(Stdout).RootElement.Clone();
    }

    public static Result Run(params string[] args) => RunWithEnvironment(new Dictionary<string, string>(), args);

    public static Result Run(TimeSpan timeout, params string[] args) => Run(new Dictionary<string, string>(), timeout, args);

    /// <summary>Runs `ecap` with extra environment variables (e.g. ECAP_CATALOG, ECAP_PRINCIPAL for the caller's identity).</summary>
    public static Result RunWithEnvironment(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Run(environment, TimeSpan.FromMinutes(3), args);

    private static Result Run(IReadOnlyDictionary<string, string> environment, TimeSpan timeout, string[] args)
    {
        using var process = Process.Start(StartInfo(environment, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("ecap " + string.Join(' ', args) + " did not finish");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts `ecap` without waiting (output discarded), for tests that kill it mid-way.</summary>
    public static Process Start(params string[] args) => StartWithEnvironment(new Dictionary<string, string>(), args);

    /// <summary>Starts `ecap` with extra environment variables without waiting (output discarded).</summary>
    public static Process StartWithEnvironment(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var process = Process.Start(StartInfo(environment, args))!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Starts `ecap` without waiting; its stdout is collected into the returned task (stderr discarded).</summary>
    public static (Process Process, Task<string> Stdout) StartCapturing(params string[] args)
    {
        var process = StartReadingOutput(args);
        return (process, process.StandardOutput.ReadToEndAsync());
    }

    /// <summary>Starts `ecap` without waiting; the caller reads its standard output as it comes (stderr is discarded).</summary>
    public static Process StartReadingOutput(params string[] args)
    {
        var process = Process.Start(StartInfo(new Dictionary<string, string>(), args))!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>`dotnet ecap.dll ARGS` with output redirected, without the caller's ECAP_LAKE/ECAP_CATALOG/identity variables, plus <paramref name="environment"/>.</summary>
    private static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string> environment, string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The caller's lake, catalog and identity claims stay out: each test says which it means.
        foreach (var inherited in new[] { "ECAP_LAKE", "ECAP_CATALOG", "ECAP_PRINCIPAL", "ECAP_GROUPS", "ECAP_TOKEN", "ECAP_OIDC_ISSUER", "ECAP_OIDC_JWKS", "ECAP_OIDC_AUDIENCE" })
            psi.Environment.Remove(inherited);
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        return psi;
    }

    private static string FindDll()
    {
        // Same configuration as the tests (Debug/Release), from the Ecap.Cli project's output.
        var config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var path = Path.Combine(RepoPaths.Root, "src", "Ecap.Cli", "bin", config, "net10.0", "ecap.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build src/Ecap.Cli first: " + path);
    }
}
