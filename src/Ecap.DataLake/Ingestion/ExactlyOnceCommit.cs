using Apache.Arrow;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Changes;
using Ecap.DataLake.Tables.Partitioning;
using Polly;
using Polly.Retry;

namespace Ecap.DataLake.Ingestion;

/// <summary>
/// The commit every ingestion (files, databases, Kafka) makes: a source's records go into a table together with
/// the source's positions (txn actions, <see cref="WriteOptions.Transactions"/>), exactly once.
/// <list type="bullet">
/// <item>Bad records go to <c>&lt;table&gt;__dead_letters</c> first, with the same txns, and only those the
/// dead-letter table does not hold yet: after a crash between the two commits the rerun does not add them twice.</item>
/// <item>A transient failure is retried (<see cref="RetryPipeline"/>); each attempt first checks whether the commit
/// already landed (the failure came after it), and then writes nothing.</item>
/// <item>Two writers creating the table at once: the loser checks again and appends to the winner's table.</item>
/// </list>
/// </summary>
public sealed class ExactlyOnceCommit(DataLakeStorage storage, string table, DataType? dataType, ResiliencePipeline retry)
{
    /// <summary>
    /// Change data: each commit merges its rows into the table by these keys and rules (an upsert; deletes by
    /// <see cref="MergeOptions.DeleteWhen"/>) instead of appending them, atomically with the source's positions. The
    /// first commit creates the table empty (the rows' columns, the data type's layout) and merges into it.
    /// </summary>
    public MergeOptions? Merge { get; init; }

    /// <summary>The commitInfo parameter naming the source a commit belongs to.</summary>
    public const string AppParameter = "ecap.ingest.app";

    /// <summary>Retries transient failures (an I/O error other than a missing file) with exponential backoff and jitter.</summary>
    public static ResiliencePipeline RetryPipeline(IngestionOptions options, Action? onRetry = null) =>
        options.MaxRetries <= 0 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<IOException>(e => e is not FileNotFoundException and not DirectoryNotFoundException),
            MaxRetryAttempts = options.MaxRetries,
            Delay = options.RetryBaseDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            OnRetry = _ => { onRetry?.Invoke(); return default; },
        }).Build();

    /// <summary>
    /// Commits <paramref name="deadLetters"/> (if any) and then <paramref name="rows"/> (if any: none commits only the dead
    /// letters) with <paramref name="options"/>. The dead-letter commit carries the txns of its letters' appIds (each must
    /// be in <see cref="WriteOptions.Transactions"/>), <see cref="WriteOptions.SourceName"/> and the <see cref="AppParameter"/>.
    /// The data commit counts as landed when the table holds every txn of <paramref name="options"/>: at its version, or
    /// past it for a commit without <see cref="WriteOptions.ExpectedTransactions"/> (its source only moves forward).
    /// </summary>
    public async Task<ExactlyOnceResult> CommitAsync(IReadOnlyList<RecordBatch> rows, IReadOnlyList<PositionedDeadLetter> deadLetters,
        WriteOptions options, CancellationToken ct = default)
    {
        var deadLettered = deadLetters.Count > 0 ? await WriteDeadLettersAsync(deadLetters, options, ct) : 0;
        if (rows.Count == 0) return new ExactlyOnceResult(null, deadLettered);
        var transactions = options.Transactions ?? new Dictionary<string, long>();
        var conditional = options.ExpectedTransactions is { Count: > 0 };
        var written = await retry.ExecuteAsync(async token =>
        {
            // A retry after a commit that did land (the failure came later) must not write again.
            if (await SnapshotAsync(table, token) is { } s
                && transactions.All(t => conditional ? s.GetTxnVersion(t.Key) == t.Value : s.GetTxnVersion(t.Key) >= t.Value))
                return null;
            return Merge is null
                ? (WriteResult?)await CreateRaceSafe(() => storage.WriteAsync(rows.ToAsyncEnumerable(), table, dataType, WriteMode.Append, options, token))
                : await MergeIntoAsync(rows, options, Merge, token);
        }, ct);
        return new ExactlyOnceResult(written, deadLettered);
    }

    private async Task<WriteResult> MergeIntoAsync(IReadOnlyList<RecordBatch> rows, WriteOptions options, MergeOptions merge, CancellationToken ct)
    {
        if (!await storage.OpenTable(table).ExistsAsync(ct))
        {
            var schema = rows[0].Schema;
            var columns = schema.FieldsList.Where(f => !merge.SourceOnlyColumns.Contains(f.Name)).ToList();
            var empty = new RecordBatch(new Schema(columns, null), columns.Select(f => Arrow.ArrowGather.Nulls(f.DataType, 0)), 0);
            await CreateRaceSafe(() => storage.WriteAsync(new[] { empty }.ToAsyncEnumerable(), table, dataType, WriteMode.Append,
                options with { Transactions = null, ExpectedTransactions = null, CommitParameters = null }, ct));
        }
        var result = await storage.MergeAsync(table, rows.ToAsyncEnumerable(), merge with
        {
            Transactions = options.Transactions, ExpectedTransactions = options.ExpectedTransactions,
            CommitParameters = options.CommitParameters, SourceName = options.SourceName,
        }, ct);
        return new WriteResult(table, result.Version, result.FilesAdded, result.RowsInserted + result.RowsUpdated, result.BytesWritten, result.FilesRewritten,
            0, Skipped: false, result.Duration);
    }

    private async Task<int> WriteDeadLettersAsync(IReadOnlyList<PositionedDeadLetter> dead, WriteOptions data, CancellationToken ct)
    {
        var name = TableNames.DeadLetterTable(table);
        var written = 0;
        await retry.ExecuteAsync(async token =>
        {
            // Only letters past the dead-letter table's own positions: a range read again never adds them twice.
            var snapshot = await SnapshotAsync(name, token);
            var fresh = dead.Where(d => (snapshot?.GetTxnVersion(d.AppId) ?? 0) < d.TxnVersion).ToList();
            written = fresh.Count;
            if (fresh.Count == 0) return;
            var options = new WriteOptions
            {
                Strategy = PartitionStrategy.Custom([]),
                SourceName = data.SourceName,
                Transactions = fresh.Select(d => d.AppId).Distinct().ToDictionary(a => a, a => data.Transactions![a]),
                CommitParameters = data.CommitParameters?.TryGetValue(AppParameter, out var app) == true
                    ? new Dictionary<string, string> { [AppParameter] = app } : null,
            };
            await CreateRaceSafe(() => storage.WriteAsync(new[] { DeadLetterBatch(fresh) }.ToAsyncEnumerable(), name, null, WriteMode.Append, options, token));
        }, ct);
        return written;
    }

    /// <summary>Two writers creating the table at once: the loser appends to the winner's table (a conditional write checks its positions again).</summary>
    private static async Task<WriteResult> CreateRaceSafe(Func<Task<WriteResult>> write)
    {
        try
        {
            return await write();
        }
        catch (Delta.TableAlreadyExistsException)
        {
            return await write();
        }
    }

    private async Task<Delta.Snapshot?> SnapshotAsync(string name, CancellationToken ct)
    {
        var t = storage.OpenTable(name);
        return await t.ExistsAsync(ct) ? await t.GetSnapshotAsync(ct) : null;
    }

    /// <summary>Dead letters as a batch of <see cref="DeadLetterSchema"/> (dead_lettered_at: now).</summary>
    private static RecordBatch DeadLetterBatch(IReadOnlyList<PositionedDeadLetter> dead)
    {
        var now = DateTimeOffset.UtcNow;
        var source = new StringArray.Builder();
        var position = new StringArray.Builder();
        var raw = new StringArray.Builder();
        var error = new StringArray.Builder();
        var at = new TimestampArray.Builder(new Apache.Arrow.Types.TimestampType(Apache.Arrow.Types.TimeUnit.Microsecond, "UTC"));
        foreach (var (d, _, _) in dead)
        {
            source.Append(d.Source);
            position.Append(d.Position);
            if (d.Raw == null) raw.AppendNull(); else raw.Append(d.Raw);
            error.Append(d.Error);
            at.Append(now);
        }
        return new RecordBatch(DeadLetterSchema, [at.Build(), source.Build(), position.Build(), raw.Build(), error.Build()], dead.Count);
    }

    /// <summary>The columns of a dead-letter table.</summary>
    public static readonly Schema DeadLetterSchema = new Schema.Builder()
        .Field(new Field("dead_lettered_at", new Apache.Arrow.Types.TimestampType(Apache.Arrow.Types.TimeUnit.Microsecond, "UTC"), false))
        .Field(new Field("source", Apache.Arrow.Types.StringType.Default, false))
        .Field(new Field("position", Apache.Arrow.Types.StringType.Default, false))
        .Field(new Field("raw", Apache.Arrow.Types.StringType.Default, true))
        .Field(new Field("error", Apache.Arrow.Types.StringType.Default, false))
        .Build();
}

/// <summary>
/// A bad record and the source position that passes it: it is in the dead-letter table once that table's txn version of
/// <paramref name="AppId"/> reaches <paramref name="TxnVersion"/> (a file commit: its txn version; a Kafka message: its offset + 1).
/// </summary>
public readonly record struct PositionedDeadLetter(DeadLetter Letter, string AppId, long TxnVersion);

/// <summary>What <see cref="ExactlyOnceCommit.CommitAsync"/> did: the data commit (null: no rows, or it had landed before) and the dead letters it added.</summary>
public sealed record ExactlyOnceResult(WriteResult? Written, int DeadLettered);
