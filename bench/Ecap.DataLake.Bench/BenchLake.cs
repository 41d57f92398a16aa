using Ecap.DataLake;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;


/// <summary>
/// Lakes as the benchmarks open them: through <see cref="DataLakeBuilder"/>, with the catalog hook and auto-compaction off so
/// a measured write is the write alone (as before the builder: the seed constructors never kept a catalog), and a table of
/// many small appends stays one (the compaction bench builds 1000 of them).
/// </summary>
internal static class BenchLake
{
    public static DataLakeStorage Open(string location) => new DataLakeBuilder(location).KeepCatalogCurrent(false).AutoCompact(false).Build().Storage;

    public static DataLakeStorage Open(IObjectStore store) => new DataLakeBuilder(store).KeepCatalogCurrent(false).AutoCompact(false).Build().Storage;
}
