// Test-only writer process for ConcurrencyTests: appends N commits to a Delta table from its own process.
// Run by the test with `dotnet fsi MultiProcessWriter.fsx <location> <writerId> <commits>`, after the test
// replaced BIN_DIR below with its own output folder. The location is a folder, s3://bucket/prefix or az://container/prefix;
// S3 settings and the commit coordinator come from the environment (AWS_*, ECAP_S3_*, ECAP_COMMIT_COORDINATOR), Azure's
// too (AZURE_STORAGE_CONNECTION_STRING).
#r "BIN_DIR/Ecap.DataLake.dll"
#r "BIN_DIR/Ecap.DataLake.Postgres.dll"
#r "BIN_DIR/Apache.Arrow.dll"
#r "BIN_DIR/Microsoft.Extensions.Logging.Abstractions.dll"
#r "BIN_DIR/AWSSDK.Core.dll"
#r "BIN_DIR/AWSSDK.S3.dll"
#r "BIN_DIR/Npgsql.dll"
#r "BIN_DIR/Azure.Core.dll"
#r "BIN_DIR/Azure.Storage.Common.dll"
#r "BIN_DIR/Azure.Storage.Blobs.dll"
#r "BIN_DIR/Ecap.DataLake.Azure.dll"

open System.Collections.Generic
open Ecap.DataLake.Delta
open Ecap.DataLake.Storage
open Ecap.DataLake.Storage.S3
open Ecap.DataLake.Postgres
open Ecap.DataLake.Azure

let args = fsi.CommandLineArgs
let location, writer, commits = args.[1], args.[2], int args.[3]
let stores = ObjectStoreRegistry.Default.WithAzure()
let store = stores.Open(location, ObjectStoreSettings(S3 = PostgresCommitCoordinator.Resolve(S3StoreOptions.FromEnvironment())))
let table = DeltaTable(store, DeltaTableOptions(MaxCommitAttempts = 100))
for i in 0 .. commits - 1 do
    let tx = table.StartTransactionAsync("WRITE").Result
    tx.Add(AddFile(Path = sprintf "%s/part-%03d" writer i, Size = 1L, ModificationTime = 1L,
                   PartitionValues = Dictionary<string, string>()))
    tx.SetTxn(writer, int64 (i + 1))
    let result = tx.CommitAsync().Result
    printfn "%s %d -> %d (%d attempts)" writer i result.Version result.Attempts
