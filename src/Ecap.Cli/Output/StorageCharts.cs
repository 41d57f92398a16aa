using System.Globalization;
using Ecap.DataLake.Tables;
using Spectre.Console;

namespace Ecap.Cli.Output;

/// <summary>The charts of <c>storage info</c>: partition sizes, file-size histogram, monthly storage cost.</summary>
internal static class StorageCharts
{
    /// <summary>Bars beyond this many partitions would not fit a screen: the largest ones are shown, in partition order.</summary>
    private const int MaxPartitionBars = 30;

    public static void Write(TableInfo info, StorageCostEstimate? cost)
    {
        if (info.Partitions.Count > 0)
        {
            var shown = info.Partitions.OrderByDescending(p => p.SizeBytes).Take(MaxPartitionBars).ToHashSet();
            var (unit, divisor) = Unit(info.Partitions.Max(p => p.SizeBytes));
            var chart = new BarChart().Width(Math.Min(100, Console.IsOutputRedirected ? 100 : AnsiConsole.Profile.Width))
                .Label($"[bold]partition sizes ({unit})[/]" + (info.Partitions.Count > shown.Count ? $" [grey]largest {shown.Count} of {info.Partitions.Count}[/]" : ""));
            foreach (var p in info.Partitions.Where(shown.Contains))
                chart.AddItem(Markup.Escape(string.Join("/", p.Values.Select(kv => $"{kv.Key}={kv.Value ?? "null"}"))),
                    Math.Round(p.SizeBytes / divisor, 2), p.FileCount > 1 && p.SizeBytes / p.FileCount < info.SmallFileThresholdBytes ? Color.Yellow : Color.Green);
            AnsiConsole.Write(chart);
        }

        if (info.FileCount > 0)
        {
            var histogram = new BarChart().Width(70).Label($"[bold]file sizes[/] [grey](files; small < {Render.Bytes(info.SmallFileThresholdBytes)})[/]");
            foreach (var b in info.FileSizeHistogram)
            {
                var label = b.MaxBytes is { } max
                    ? (b.MinBytes == 0 ? $"< {Render.Bytes(max)}" : $"{Render.Bytes(b.MinBytes)} - {Render.Bytes(max)}")
                    : $">= {Render.Bytes(b.MinBytes)}";
                histogram.AddItem(label, b.FileCount, b.MaxBytes is { } m && m <= info.SmallFileThresholdBytes ? Color.Yellow : Color.Green);
            }
            AnsiConsole.Write(histogram);
        }

        if (cost is not null)
        {
            var table = new Table().Border(TableBorder.Simple).Title($"estimated monthly storage cost of {Render.Bytes(cost.Bytes)}")
                .AddColumns("storage class", $"{cost.Currency} per GB-month", $"{cost.Currency} per month");
            foreach (var c in cost.ByClass)
            {
                var mark = c.StorageClass == cost.StorageClass ? "[bold]" : "[grey]";
                table.AddRow($"{mark}{Markup.Escape(c.StorageClass)}[/]", Money(c.PricePerGbMonth), $"{mark}{Money(c.MonthlyCost)}[/]");
            }
            AnsiConsole.Write(table);
            if (cost.Stored is { } stored)
            {
                // The files as the store holds them (after tiering): what the table costs now.
                var held = new Table().Border(TableBorder.Simple).Title($"as stored: {Money(cost.MonthlyCost)} {cost.Currency} per month")
                    .AddColumns("storage class", "files", "size", $"{cost.Currency} per month");
                foreach (var c in stored) held.AddRow(Markup.Escape(c.StorageClass), c.FileCount.ToString(CultureInfo.InvariantCulture), Render.Bytes(c.Bytes), Money(c.MonthlyCost));
                AnsiConsole.Write(held);
            }
        }
    }

    private static (string Unit, double Divisor) Unit(long maxBytes) => maxBytes switch
    {
        < 1024L * 1024 => ("KiB", 1024.0),
        < 1024L * 1024 * 1024 => ("MiB", 1024.0 * 1024),
        _ => ("GiB", 1024.0 * 1024 * 1024),
    };

    private static string Money(decimal value) => value.ToString(value >= 1 ? "N2" : "0.######", CultureInfo.InvariantCulture);
}
