using System.Globalization;
using Apache.Arrow;
using Ecap.DataLake.Tables.Partitioning;
using Xunit;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;

namespace Ecap.DataLake.Tests.Tables.Partitioning;

/// <summary>
/// Checks a partitioner's output against a slow, obvious model built with LINQ on the original rows:
/// same groups, partition values, buckets, rows (all of them, once), data columns without partition
/// columns, and the order of rows by the sort columns (stable, nulls first).
/// </summary>
internal static class PartitionVerifier
{
    public static void Verify(RecordBatch input, PartitionStrategy strategy, IReadOnlyList<PartitionGroup> groups)
    {
        var rows = ArrowRows.Rows(input);
        foreach (var row in rows) AddDerived(row, strategy);

        string? Expected(Dictionary<string, object?> row, string column) => row[column] switch
        {
            null => null,
            string s => s,
            long l => l.ToString(CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            var other => throw new NotSupportedException(other.GetType().Name),
        };
        int? ExpectedBucket(Dictionary<string, object?> row) =>
            strategy.BucketColumn is null ? null
            : row[strategy.BucketColumn] switch
            {
                null => null,
                long l => IcebergBucket.Bucket(l, strategy.BucketCount),
                string s => IcebergBucket.Bucket(s, strategy.BucketCount),
                var other => throw new NotSupportedException(other.GetType().Name),
            };
        string Key(IEnumerable<string?> values, int? bucket) =>
            string.Join("\u0001", values.Select(v => v ?? "\u0002null")) + "\u0001b" + bucket;

        var expectedGroups = rows
            .GroupBy(r => Key(strategy.PartitionColumns.Select(c => Expected(r, c)), ExpectedBucket(r)))
            .ToDictionary(g => g.Key, g => g.ToList());

        Assert.Equal(input.Length, groups.Sum(g => g.Rows.Length));
        Assert.Equal(expectedGroups.Count, groups.Count);
        var dataColumns = rows.Count == 0 ? [] : rows[0].Keys.Where(k => !strategy.PartitionColumns.Contains(k)).ToList();

        foreach (var group in groups)
        {
            Assert.Equal(strategy.PartitionColumns.OrderBy(c => c), group.PartitionValues.Keys.OrderBy(c => c));
            foreach (var column in strategy.PartitionColumns)
                Assert.Equal(-1, group.Rows.Schema.GetFieldIndex(column));
            Assert.Equal(PartitionPath.Build(strategy.PartitionColumns, group.PartitionValues), group.Directory);
            if (strategy.BucketColumn is not null && group.Bucket is int b) Assert.InRange(b, 0, strategy.BucketCount - 1);

            var key = Key(strategy.PartitionColumns.Select(c => group.PartitionValues[c]), group.Bucket);
            Assert.True(expectedGroups.TryGetValue(key, out var expectedRows), $"unexpected group {group.Directory} bucket {group.Bucket}");
            IEnumerable<Dictionary<string, object?>> ordered = expectedRows!;
            if (strategy.SortColumns.Count > 0)
            {
                var sorted = expectedRows!.OrderBy(r => r[strategy.SortColumns[0]], ArrowRows.NullsFirst.Instance);
                foreach (var s in strategy.SortColumns.Skip(1)) sorted = sorted.ThenBy(r => r[s], ArrowRows.NullsFirst.Instance);
                ordered = sorted;
            }
            var expected = ordered.Select(r => dataColumns.Select(c => r[c]).ToArray()).ToList();
            var actual = ArrowRows.Rows(group.Rows).Select(r => dataColumns.Select(c => r[c]).ToArray()).ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i], actual[i]);
        }
    }

    /// <summary>Adds year/month/day computed with DateTime in UTC, when the input lacks them.</summary>
    private static void AddDerived(Dictionary<string, object?> row, PartitionStrategy strategy)
    {
        foreach (var d in strategy.DerivedColumns)
        {
            if (row.ContainsKey(d.Name)) continue;
            var t = row[strategy.TimeColumn!];
            if (t is null)
            {
                row[d.Name] = null;
                continue;
            }
            var utc = DateTime.UnixEpoch.AddTicks((long)t * 10);
            row[d.Name] = (long)(d.Part switch { TimePart.Year => utc.Year, TimePart.Month => utc.Month, _ => utc.Day });
        }
    }
}
