using Ecap.DataLake.Tables;
using Spectre.Console;

namespace Ecap.Cli.Output;

/// <summary>A live progress line on stderr for long writes (quiet with --output json or when redirected).</summary>
internal static class WriteProgressDisplay
{
    public static async Task<WriteResult> RunWriteAsync(CliContext ctx, string label, Func<IProgress<WriteProgress>?, Task<WriteResult>> write)
    {
        if (ctx.Json || Console.IsErrorRedirected) return await write(null);
        WriteResult? result = null;
        await ctx.Status.Status().StartAsync(label, async status =>
        {
            var progress = new Progress<WriteProgress>(p =>
                status.Status($"{Markup.Escape(label)}: {p.RowsWritten:N0} rows, {p.FilesWritten} file(s), {Render.Bytes(p.BytesWritten)}"));
            result = await write(progress);
        });
        return result!;
    }
}
