using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Changes;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Tables;

/// <summary><see cref="DataLakeStorage.CreateTableAsync"/> (issue 19) and a truncate layout through writes and UPDATE; DuckDB reads the files.</summary>
public class CreateTableTests
{
    [Fact]
    public async Task An_empty_table_takes_appends_and_an_update_recomputes_its_truncated_partition()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        var schema = SchemaFile.Parse("id long, zip string");
        var created = await lake.CreateTableAsync("z", schema, PartitionSpec.Parse("truncate(2, zip)"));
        Assert.Equal((0L, 0, 0L), (created.Version, created.FilesWritten, created.RowsWritten));
        var snapshot = await lake.OpenTable("z").GetSnapshotAsync();
        Assert.Empty(snapshot.Files);
        Assert.Equal(["zip_trunc"], snapshot.PartitionColumns);
        Assert.Equal("id long, zip string, zip_trunc string", SchemaFile.Format(snapshot.Schema));
        await Assert.ThrowsAsync<TableAlreadyExistsException>(() => lake.CreateTableAsync("z", schema));

        var ids = new Int64Array.Builder().Append(1).Append(2).Append(3).Build();
        var zips = new StringArray.Builder().Append("00501").Append("02134").Append("00544").Build();
        var write = await lake.WritePartitionedDataAsync(new[] { new RecordBatch(schema, [ids, zips], 3) }.ToAsyncEnumerable(), "z", (PartitionStrategy?)null);
        Assert.Equal(1, write.Version);
        await lake.UpdateAsync("z", [ColumnAssignment.Parse("zip='99950'")], Predicate.Parse("id = 2"));

        using var duck = new DuckDbReader();
        var files = DuckDbReader.FileList(await LiveFilesAsync(lake, dir.Path, "z"));
        // Files hold id and zip; the partition directory holds zip_trunc: the updated row moved to zip_trunc=99.
        var rows = duck.Rows($"SELECT id, zip, regexp_extract(filename, 'zip_trunc=([^/]+)', 1) FROM read_parquet({files}, filename=true) ORDER BY id");
        Assert.Equal(["1|00501|00", "2|99950|99", "3|00544|00"], rows.Select(r => string.Join("|", r)));
    }
}
