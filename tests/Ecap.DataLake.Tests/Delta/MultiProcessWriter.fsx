// Test-only writer process for ConcurrencyTests: appends N commits to a Delta table from its own process.
// Run by the test with `dotnet fsi MultiProcessWriter.fsx <tableDir> <writerId> <commits>`, after the test
// replaced BIN_DIR below with its own output folder.
#r "BIN_DIR/Ecap.DataLake.dll"
#r "BIN_DIR/Apache.Arrow.dll"
#r "BIN_DIR/Microsoft.Extensions.Logging.Abstractions.dll"

open System.Collections.Generic
open Ecap.DataLake.Delta
open Ecap.DataLake.Storage

let args = fsi.CommandLineArgs
let tableDir, writer, commits = args.[1], args.[2], int args.[3]
let table = DeltaTable(LocalObjectStore(tableDir), DeltaTableOptions(MaxCommitAttempts = 100))
for i in 0 .. commits - 1 do
    let tx = table.StartTransactionAsync("WRITE").Result
    tx.Add(AddFile(Path = sprintf "%s/part-%03d" writer i, Size = 1L, ModificationTime = 1L,
                   PartitionValues = Dictionary<string, string>()))
    tx.SetTxn(writer, int64 (i + 1))
    let result = tx.CommitAsync().Result
    printfn "%s %d -> %d (%d attempts)" writer i result.Version result.Attempts
