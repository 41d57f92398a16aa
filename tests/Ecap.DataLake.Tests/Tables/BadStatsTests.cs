using System.Text.RegularExpressions;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.TestSupport;
using Microsoft.Extensions.Logging;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Tables;

/// <summary>File stats are hints from any Delta writer: a bad numRecords is ignored for that file (with a warning), never a crash or a wrong total.</summary>
public class BadStatsTests
{
    public static TheoryData<string, string> BadStats => new()
    {
        // name, replacement of each add's stats string in the log
        { "overflowing", "{\\\"numRecords\\\":9223372036854775807}" },
        { "negative", "{\\\"numRecords\\\":-5}" },
        { "a string", "{\\\"numRecords\\\":\\\"many\\\"}" },
        { "a fraction", "{\\\"numRecords\\\":1.5}" },
        { "not JSON", "not json {" },
    };

    [Theory]
    [MemberData(nameof(BadStats))]
    public async Task Info_and_list_tables_count_the_real_rows_and_warn(string name, string stats)
    {
        using var dir = new TempDir();
        var logs = new RecordingLoggerFactory();
        var lake = new DataLakeStorage(dir.Path, new DataLakeStorageOptions { LoggerFactory = logs });
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 3_000, days: 3), "tx", DataType.Transactions);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 2_000, seed: 2, days: 3), "tx", DataType.Transactions);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 700, days: 2), "other", DataType.Transactions);
        // The second commit's adds get the bad stats (two files at least: an overflow needs a second count to overflow with).
        var commit = Path.Combine(dir.Path, "tx", "_delta_log", $"{1:D20}.json");
        var text = await File.ReadAllTextAsync(commit);
        var damaged = Regex.Replace(text, "\"stats\":\"(?:[^\"\\\\]|\\\\.)*\"", $"\"stats\":\"{stats}\"");
        Assert.NotEqual(text, damaged);
        await File.WriteAllTextAsync(commit, damaged);

        var fresh = new DataLakeStorage(dir.Path, new DataLakeStorageOptions { LoggerFactory = logs });
        var info = await fresh.GetTableInfoAsync("tx");
        Assert.Equal(5_000, info.RecordCount);
        Assert.Equal(5_000, info.Partitions.Sum(p => p.RecordCount));
        var tables = await fresh.ListTablesAsync();
        Assert.Equal(5_000, tables.Single(t => t.Name == "tx").RecordCount);
        Assert.Equal(700, tables.Single(t => t.Name == "other").RecordCount); // one bad table does not break the listing
        Assert.Contains(logs.Warnings, w => w.Contains("tx") && w.Contains("footer"));
        _ = name;
    }

    /// <summary>Collects warnings (the library's ILogger) so a test can see them.</summary>
    private sealed class RecordingLoggerFactory : ILoggerFactory, ILogger
    {
        public List<string> Warnings { get; } = [];
        public ILogger CreateLogger(string categoryName) => this;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel < LogLevel.Warning) return;
            lock (Warnings) Warnings.Add(formatter(state, exception));
        }
    }
}
