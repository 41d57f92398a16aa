#!/usr/bin/env bash
# Whole-process timings of the `ecap` CLI as a user runs it (one process per command), and of the duckdb CLI doing
# comparable work when `duckdb` is on PATH. Medians of RUNS runs (default 10), the two sides alternating per run.
#
#   bench/cli-process.sh                       # publishes the Release build (ReadyToRun, this machine's RID) to a temp folder
#   ECAP=~/.dotnet/tools/ecap bench/cli-process.sh   # or times a given ecap (an installed tool, a plain `dotnet publish`)
#   RUNS=20 ROWS=2000000 bench/cli-process.sh        # ROWS > 0 adds write + pruned read of generated transactions
#
# Uses hyperfine when installed (apt-get install hyperfine), else a bash loop with the same medians.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
ROWS=${ROWS:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "${ECAP:-}" ]; then
  rid=$(dotnet --info | awk '/^ RID:/ {print $2; exit}')
  dotnet publish src/Ecap.Cli -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true -o "$work/ecap" >/dev/null
  ECAP=$work/ecap/ecap
fi
DUCKDB=$(command -v duckdb || true)
# No duckdb CLI (not packaged for this machine): DuckDB's own engine in a Node.js process (npm @duckdb/node-api), the same
# `-c SQL` / `--version` interface; Node's start (~40 ms) is then on DuckDB's side.
if [ -z "$DUCKDB" ] && command -v node >/dev/null && (cd "$work" && npm install --silent @duckdb/node-api@1.5.6-r.1 >/dev/null 2>&1); then
  cat >"$work/duck.mjs" <<'JS'
import { DuckDBInstance } from '@duckdb/node-api';
const connection = await (await DuckDBInstance.create(':memory:')).connect();
const sql = process.argv[2] === '--version' ? 'SELECT version()' : process.argv[3];
console.log(JSON.stringify((await connection.runAndReadAll(sql)).getRowsJson()));
JS
  DUCKDB="node $work/duck.mjs"
fi
echo "ecap: $ECAP ($("$ECAP" --version))"
[ -n "$DUCKDB" ] && echo "duckdb: $DUCKDB ($($DUCKDB --version))" || echo "duckdb: neither the CLI nor Node.js; timing ecap alone"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# A small lake: 1,000 transactions over 90 daily partitions.
"$ECAP" data-lake generate transactions --rows 1000 --out "$work/small.parquet" --seed 7 >/dev/null
"$ECAP" data-lake storage write transactions --data-type transactions --source-path "$work/small.parquet" --lake "$work/small" >/dev/null

# name|ecap command|duckdb command (empty: ecap alone)
cases=(
  "--version|$ECAP --version|${DUCKDB:+$DUCKDB --version}"
  "list-tables (small lake)|$ECAP data-lake storage list-tables --lake $work/small|${DUCKDB:+$DUCKDB -c \"SELECT count(*) FROM read_parquet('$work/small/transactions/**/*.parquet')\"}"
  "doctor|$ECAP data-lake doctor --lake $work/small|"
)
if [ "$ROWS" -gt 0 ]; then
  "$ECAP" data-lake generate transactions --rows "$ROWS" --out "$work/tx.parquet" --seed 7 >/dev/null
  cases+=(
    "write $ROWS rows|$ECAP data-lake storage write transactions --data-type transactions --source-path $work/tx.parquet --mode overwrite --lake $work/big|${DUCKDB:+$DUCKDB -c \"COPY (SELECT *, year(timestamp) AS year, month(timestamp) AS month, day(timestamp) AS day FROM '$work/tx.parquet') TO '$work/duck' (FORMAT parquet, PARTITION_BY (year, month, day), OVERWRITE_OR_IGNORE)\"}"
    "pruned read, 1 month, 3 columns|$ECAP data-lake storage read transactions --lake $work/big --partition-filter month=10 --columns transaction_id,amount,status --out $work/out.parquet|${DUCKDB:+$DUCKDB -c \"COPY (SELECT transaction_id, amount, status FROM read_parquet('$work/duck/**/*.parquet', hive_partitioning = true) WHERE month = 10) TO '$work/duck-out.parquet'\"}"
  )
fi

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ms() { local s e; s=$(date +%s%N); eval "$1" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }

printf '\n| command | ecap median ms | duckdb median ms |\n|---|---|---|\n'
for c in "${cases[@]}"; do
  IFS='|' read -r name ecap_cmd duck_cmd <<<"$c"
  if command -v hyperfine >/dev/null; then
    args=(-N -w 2 -r "$RUNS" --export-json "$work/h.json" "$ecap_cmd")
    [ -n "$duck_cmd" ] && args=(-w 2 -r "$RUNS" --export-json "$work/h.json" "$ecap_cmd" "$duck_cmd")
    hyperfine "${args[@]}" >/dev/null 2>&1
    read -r e d < <(python3 -c "import json,sys; r=json.load(open('$work/h.json'))['results']; m=[round(x['median']*1000,1) for x in r]; print(m[0], m[1] if len(m) > 1 else '-')")
  else
    eval "$ecap_cmd" >/dev/null 2>&1; eval "$ecap_cmd" >/dev/null 2>&1 # warm-up
    : >"$work/e"; : >"$work/d"
    for _ in $(seq "$RUNS"); do
      ms "$ecap_cmd" >>"$work/e"
      [ -n "$duck_cmd" ] && ms "$duck_cmd" >>"$work/d"
    done
    e=$(median <"$work/e"); d=$([ -n "$duck_cmd" ] && median <"$work/d" || echo "-")
  fi
  printf '| %s | %s | %s |\n' "$name" "$e" "${d:--}"
done
