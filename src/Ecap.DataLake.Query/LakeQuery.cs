using Ecap.DataLake.Storage;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using DuckDB.NET.Data;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Query;

/// <summary>
/// SQL over the lake: every table the query names becomes a DuckDB view over the Parquet files of its snapshot
/// (see <see cref="LakeViews"/>). A quoted name <c>"table@v12"</c> is the table at version 12,
/// <c>"table@2026-11-01T00:00:00Z"</c> the table as of that time. One in-process DuckDB per instance.
/// </summary>
public sealed partial class LakeQuery : IDisposable, IAsyncDisposable
{
    private readonly DataLakeStorage _storage;
    private readonly DuckDBConnection _connection;
    private readonly Dictionary<string, RegisteredView> _views = new(StringComparer.Ordinal);

    public LakeQuery(string lakePath) : this(new DataLakeStorage(lakePath)) { }

    /// <summary>SQL over a lake built by <see cref="DataLakeBuilder"/> (its guard and snapshot cache).</summary>
    public LakeQuery(DataLake lake) : this(lake.Storage) { }

    public LakeQuery(DataLakeStorage storage)
    {
        _storage = storage;
        _connection = new DuckDBConnection("DataSource=:memory:");
        _connection.Open();
        // No extension is fetched or loaded behind the caller's back (INSTALL/LOAD are refused by SqlSandbox too).
        Execute("SET autoinstall_known_extensions = false; SET autoload_known_extensions = false;");
        // Views cast foreign files' naive timestamps (INT96, isAdjustedToUTC=false) to the table's TIMESTAMPTZ; Delta reads
        // their numbers as UTC, so the session zone must be UTC for the cast (and text of results) not to shift them.
        try { Execute("SET TimeZone = 'UTC';"); }
        catch (DuckDBException) { /* no ICU: DuckDB's timestamps are UTC already */ }
    }

    /// <summary>
    /// Profile each query to report files read and bytes scanned in <see cref="QueryResult.Stats"/> (default on);
    /// off, FilesRead and BytesScanned stay 0.
    /// </summary>
    public bool CollectStats { get; set; } = true;

    /// <summary>
    /// Use one hive-partitioned scan per table when its file paths match the log's partition values (default);
    /// off, every view is the union of per-partition branches. Both prune; the single scan runs faster.
    /// </summary>
    public bool PreferHivePaths { get; set; } = true;

    /// <summary>The views registered so far, by view name.</summary>
    public IReadOnlyDictionary<string, RegisteredView> Views => _views;

    /// <summary>Registers (or refreshes to the latest snapshot) the views of every lake table <paramref name="sql"/> names.</summary>
    /// <remarks>Each table needs read access; columns the caller's grants exclude are NULL in its view.</remarks>
    public Task<IReadOnlyList<RegisteredView>> PrepareAsync(string sql, CancellationToken ct = default) =>
        Guarded("query-prepare", sql, async scope =>
        {
            var result = new List<RegisteredView>();
            // On a remote store every identifier of the SQL (columns, functions, keywords) would cost a log listing to find
            // it is no table: one listing of the lake's folders answers for all of them.
            HashSet<string>? folders = null;
            if (_storage.Store.TryGetLocalPath("x") is null)
            {
                folders = new HashSet<string>(StringComparer.Ordinal);
                await foreach (var folder in _storage.Store.ListPrefixesAsync("", ct)) folders.Add(folder);
            }
            // On a remote store, a query simple enough to tell which partitions it reads copies only their files.
            var pruning = folders is not null ? RemotePruning.Analyze(_connection, TrimStatement(sql)) : null;
            foreach (var reference in TableReferences(sql))
            {
                if (result.Any(r => r.Name == reference)) continue;
                var terms = pruning is { } p && string.Equals(p.Table, reference, StringComparison.OrdinalIgnoreCase) ? p.Terms : null;
                var view = await TryRegisterAsync(reference, scope, folders, terms, ct);
                if (view != null) result.Add(view);
            }
            // Only the views just registered for this caller may be read, and nothing but reading is allowed.
            SqlSandbox.Check(_connection, TrimStatement(sql), result.Select(v => v.Name).ToHashSet(StringComparer.OrdinalIgnoreCase));
            return (IReadOnlyList<RegisteredView>)result;
        }, ct);

    // One audited operation per public call; the tables it reads are checked as their views are registered.
    private Task<T> Guarded<T>(string operation, string sql, Func<GuardScope, Task<T>> body, CancellationToken ct, string? outPath = null) =>
        _storage.Guard.RunAsync(new GuardedOperation(operation, null, null, outPath is null
            ? new Dictionary<string, string?> { ["sql"] = sql }
            : new Dictionary<string, string?> { ["sql"] = sql, ["out"] = outPath }), body, ct); // the file is known at the start (a lineage run's output)

    /// <summary>Runs a query; rows stream from the returned result, which must be disposed.</summary>
    public Task<QueryResult> QueryAsync(string sql, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        return Guarded("query", sql, _ => QueryCoreAsync(sql, ct), ct);
    }

    /// <summary>
    /// Runs a query and hands its result to <paramref name="consume"/> within one audited operation: the record names the rows
    /// returned, and an error while the rows stream (a cast that does not hold) is audited as a failure, not a success.
    /// </summary>
    public Task<T> QueryAsync<T>(string sql, Func<QueryResult, Task<T>> consume, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        return Guarded("query", sql, async scope =>
        {
            await using var result = await QueryCoreAsync(sql, ct);
            var value = await consume(result);
            result.Dispose(); // completes the stats
            scope.Complete(rows: result.Stats.RowsReturned, bytes: result.Stats.BytesScanned);
            return value;
        }, ct);
    }

    private async Task<QueryResult> QueryCoreAsync(string sql, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        var views = await PrepareAsync(sql, ct);
        var stats = new QueryStats { TablesReferenced = views.Select(v => v.Name).ToList(), FilesConsidered = views.Sum(v => v.FileCount) };
        // DuckDB's profile of the run says which files its scans opened (after its optimizer dropped
        // the union branches whose partition constants cannot match): the pruning actually achieved.
        var profile = Path.Combine(Path.GetTempPath(), "ecap-query-" + Guid.NewGuid().ToString("N") + ".json");
        if (CollectStats) Execute($"PRAGMA enable_profiling = 'json'; PRAGMA profiling_output = {LakeViews.QuoteLiteral(profile)};");
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.UseStreamingMode = true; // rows are produced as they are read, not materialized first
        DbDataReader reader;
        try { reader = await command.ExecuteReaderAsync(ct); }
        catch (DuckDBException e)
        {
            command.Dispose();
            Execute("PRAGMA disable_profiling;");
            File.Delete(profile);
            throw new InvalidInputException("Query failed: " + e.Message);
        }
        return new QueryResult(command, reader, stats, stopwatch, () =>
        {
            Execute("PRAGMA disable_profiling;");
            QueryProfile.Apply(profile, stats, views);
            Metrics.LakeMetrics.RecordQuery(string.Join(",", views.Select(v => v.Table).Distinct()), stopwatch.Elapsed,
                Math.Max(0, stats.FilesRead), stats.FilesRead < 0 ? 0 : stats.FilesPruned, stats.BytesScanned);
        });
    }

    /// <summary>DuckDB's plan of <paramref name="sql"/> over the lake views (EXPLAIN), as text.</summary>
    public Task<string> ExplainAsync(string sql, CancellationToken ct = default) =>
        Guarded("query-explain", sql, async _ =>
        {
            await PrepareAsync(sql, ct);
            return ExplainText(sql);
        }, ct);

    /// <summary>
    /// Writes the result of <paramref name="sql"/> to <paramref name="path"/> with DuckDB's COPY; the format is
    /// the file's extension (.parquet, .csv, .json/.jsonl/.ndjson). Returns the number of rows written.
    /// </summary>
    public Task<long> CopyToAsync(string sql, string path, CancellationToken ct = default) =>
        Guarded("query-export", sql, async scope =>
        {
            var rows = await CopyCoreAsync(sql, path, ct);
            scope.Complete(rows: rows);
            return rows;
        }, ct, outPath: path);

    private async Task<long> CopyCoreAsync(string sql, string path, CancellationToken ct)
    {
        var format = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".parquet" => "FORMAT parquet",
            ".csv" => "FORMAT csv, HEADER true",
            ".json" => "FORMAT json, ARRAY true",
            ".jsonl" or ".ndjson" => "FORMAT json",
            var e => throw new InvalidInputException($"Cannot write '{path}': unknown extension '{e}' (use .parquet, .csv, .json, .jsonl)."),
        };
        await PrepareAsync(sql, ct);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        using var command = _connection.CreateCommand();
        command.CommandText = $"COPY ({TrimStatement(sql)}) TO {LakeViews.QuoteLiteral(Path.GetFullPath(path))} ({format})";
        try { return await command.ExecuteNonQueryAsync(ct); }
        catch (DuckDBException e) { throw new InvalidInputException("Query failed: " + e.Message); }
    }

    private static string TrimStatement(string sql) => sql.Trim().TrimEnd(';').Trim();

    // ------------------------------------------------------------------ views

    /// <summary>A lake table at one version, registered as a DuckDB view.</summary>
    public sealed record RegisteredView(string Name, string Table, long Version, int FileCount, IReadOnlyList<LakeViews.FileGroup> Groups)
    {
        /// <summary>Columns read as NULL in this view (excluded for the caller).</summary>
        public IReadOnlySet<string> Masked { get; init; } = new HashSet<string>();
    }

    // Names a query can use for a table: bare identifiers and double-quoted ones ("my-table", "tx@v3").
    [GeneratedRegex("\"((?:[^\"]|\"\")+)\"|\\b([A-Za-z_][A-Za-z0-9_]*)\\b")]
    private static partial Regex Identifier();

    [GeneratedRegex("'(?:[^']|'')*'")]
    private static partial Regex StringLiteral();

    internal static IEnumerable<string> TableReferences(string sql)
    {
        // String literals are not names; drop them so a value like 'transactions' registers nothing.
        var text = StringLiteral().Replace(sql, "''");
        foreach (Match m in Identifier().Matches(text))
            yield return m.Groups[1].Success ? m.Groups[1].Value.Replace("\"\"", "\"", StringComparison.Ordinal) : m.Groups[2].Value;
    }

    private async Task<RegisteredView?> TryRegisterAsync(string reference, GuardScope scope, HashSet<string>? folders,
        IReadOnlyList<RemotePruning.Term>? terms, CancellationToken ct)
    {
        var at = reference.IndexOf('@');
        var table = at < 0 ? reference : reference[..at];
        // Only names a lake table can have reach the file system; anything else is left to DuckDB to resolve.
        try { TableNames.Validate(table); }
        catch (InvalidPathException) { return null; }
        DeltaTable delta;
        if (table == AuditLog.SqlName && _storage.Guard.Audit is { } audit)
        {
            // The audit trail is readable by lake admins only (everyone while access control is off).
            delta = audit.Table;
            if (!await delta.ExistsAsync(ct)) return null;
            scope.AddTable(table);
            scope.Require(Privilege.Admin, null);
        }
        else
        {
            if (folders is not null && !folders.Contains(table)) return null;
            delta = _storage.OpenTable(table);
            if (!await delta.ExistsAsync(ct)) return null;
            scope.AddTable(table);
            scope.Require(Privilege.Read, table);
        }
        var masked = table == AuditLog.SqlName ? new HashSet<string>() : scope.MaskedColumns(table);
        Snapshot snapshot;
        if (at < 0) snapshot = await delta.GetSnapshotAsync(ct);
        else
        {
            var spec = reference[(at + 1)..];
            if (spec.Length > 1 && spec[0] is 'v' or 'V' && long.TryParse(spec.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
                snapshot = await delta.GetSnapshotAsync(version, ct);
            else if (DateTimeOffset.TryParse(spec, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ts))
                snapshot = await delta.GetSnapshotAtAsync(ts, ct);
            else
                throw new InvalidInputException($"Cannot read \"{reference}\": after '@' give a version (v12) or a timestamp (2026-11-01T00:00:00Z).");
        }
        if (Parquet.Encryption.TableEncryption.Of(snapshot.Metadata.Configuration) is not null)
            throw new InvalidInputException($"Table '{table}' is encrypted (Parquet modular encryption), which DuckDB cannot read; read it with `ecap data-lake storage read {table}` instead.");
        // The files the view lists: all, or on a remote table only those the query's partition filters can need.
        var files = terms is { Count: > 0 } ? RemotePruning.Keep(snapshot, terms) : snapshot.Files;
        var fileSet = files.Count == snapshot.Files.Count ? null : string.Join("\n", files.Select(f => f.Path).Order(StringComparer.Ordinal));
        if (_views.TryGetValue(reference, out var existing) && existing.Version == snapshot.Version && existing.Masked.SetEquals(masked) &&
            _viewFiles.GetValueOrDefault(reference) == fileSet) return existing;

        Dictionary<string, string>? deletedRows = null;
        foreach (var file in snapshot.Files.Where(f => f.DeletionVector is { Cardinality: > 0 })) // a vector that deletes nothing needs no table
            (deletedRows ??= new(StringComparer.Ordinal))[file.Path] = await DeletedRowsTableAsync(delta, file, ct);
        var viewSql = LakeViews.ViewSql(snapshot, await LocalFilesAsync(delta, snapshot, files, ct), PreferHivePaths, deletedRows, files);
        if (masked.Count > 0)
        {
            // Excluded columns keep their name and type but read as NULL, so filters and joins on them see nothing.
            var replaced = snapshot.Schema.FieldsList.Where(f => masked.Contains(f.Name))
                .Select(f => $"CASE WHEN false THEN {LakeViews.QuoteIdentifier(f.Name)} END AS {LakeViews.QuoteIdentifier(f.Name)}");
            viewSql = $"SELECT * REPLACE ({string.Join(", ", replaced)}) FROM ({viewSql})";
        }
        using (var command = _connection.CreateCommand())
        {
            command.CommandText = $"CREATE OR REPLACE VIEW {LakeViews.QuoteIdentifier(reference)} AS {viewSql}";
            // DuckDB opens the snapshot's files here: one missing or not Parquet is the table's damage, not the user's SQL.
            try { await command.ExecuteNonQueryAsync(ct); }
            catch (DuckDBException e)
            {
                throw new CorruptTableException(
                    $"Table '{table}' (version {snapshot.Version}) cannot be read: {e.Message.Split('\n')[0].Trim()}. " +
                    "A data file of this version is missing or damaged (deleted by hand, or by vacuum with a short retention).", e);
            }
        }
        var view = new RegisteredView(reference, table, snapshot.Version, snapshot.Files.Count, LakeViews.Group(snapshot)) { Masked = masked.ToHashSet() };
        _views[reference] = view;
        _viewFiles[reference] = fileSet;
        return view;
    }

    // ------------------------------------------------------------------ pruning

    private string ExplainText(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "EXPLAIN " + TrimStatement(sql);
        try
        {
            using var reader = command.ExecuteReader();
            var sb = new System.Text.StringBuilder();
            while (reader.Read()) sb.AppendLine(reader.GetValue(reader.FieldCount - 1)?.ToString());
            return sb.ToString();
        }
        catch (DuckDBException e) { throw new InvalidInputException("Query failed: " + e.Message); }
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private readonly HashSet<string> _deletedRowTables = new(StringComparer.Ordinal);

    /// <summary>
    /// A one-row table (<c>b</c>: a bitstring of the rows a file's deletion vector deletes, <c>last</c>: the last of them) for its
    /// view to filter <c>file_row_number</c> by; named by the table, file and vector, so it is filled once per connection. Users cannot name it:
    /// <see cref="SqlSandbox"/> lets queries read registered views only.
    /// </summary>
    private async Task<string> DeletedRowsTableAsync(DeltaTable delta, AddFile file, CancellationToken ct)
    {
        var id = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(delta.Store.Location + "\n" + file.Path + "\n" + file.DeletionVector!.UniqueId)))[..24];
        var name = "__ecap_deleted_rows_" + id.ToLowerInvariant();
        if (_deletedRowTables.Contains(name)) return name;
        var rows = await delta.ReadDeletedRowsAsync(file, ct);
        if (rows.Length > 0 && rows[^1] >= int.MaxValue)
            throw new UnsupportedProtocolException($"A deletion vector of '{file.Path}' deletes rows past position {int.MaxValue}, which SQL cannot filter; read the table with `storage read`.");
        // The positions become one bitstring (bit i set: row i deleted), which the view tests per row with get_bit: a
        // constant lookup instead of a hash anti-join of every row against the positions (half the cost, measured).
        var positions = name + "_pos";
        Execute($"CREATE OR REPLACE TEMP TABLE {LakeViews.QuoteIdentifier(positions)} (pos BIGINT NOT NULL)");
        using (var appender = _connection.CreateAppender(positions))
            foreach (var row in rows) appender.CreateRow().AppendValue(row).EndRow();
        Execute($"CREATE OR REPLACE TABLE {LakeViews.QuoteIdentifier(name)} AS SELECT bitstring_agg(pos, 0::BIGINT, {rows[^1]}::BIGINT) AS b, " +
                $"{rows[^1]}::BIGINT AS last FROM {LakeViews.QuoteIdentifier(positions)}");
        Execute($"DROP TABLE {LakeViews.QuoteIdentifier(positions)}");
        _deletedRowTables.Add(name);
        return name;
    }

    // ------------------------------------------------------------------ remote lakes

    /// <summary>
    /// The most bytes of remote data files (S3, Azure, any store without local paths) one instance copies into its local
    /// spill folder for DuckDB to scan (default 16 GiB); a query needing more is refused before anything is fetched.
    /// </summary>
    public long RemoteSpillLimitBytes { get; set; } = 16L << 30;

    /// <summary>Bytes of remote data files copied into the spill folder so far (each file once per instance).</summary>
    public long RemoteBytesFetched => Interlocked.Read(ref _spilledBytes);

    private string? _spillDir;
    private long _spilledBytes;
    private readonly HashSet<string> _spilledFiles = new(StringComparer.Ordinal);

    // Per view: null when it lists every file of its snapshot, else the (pruned) file list it was made for.
    private readonly Dictionary<string, string?> _viewFiles = new(StringComparer.Ordinal);

    /// <summary>
    /// How a view names a data file for DuckDB: its own path on a local store; on a remote one, a copy in this instance's
    /// spill folder, fetched through the store (ranged, parallel reads: no DuckDB extension, the store's own credentials).
    /// Data files never change once written (Delta names them uniquely), so a copy serves every later snapshot too.
    /// </summary>
    private async Task<Func<string, string>> LocalFilesAsync(DeltaTable delta, Snapshot snapshot, IReadOnlyCollection<AddFile> files, CancellationToken ct)
    {
        var store = delta.Store;
        if (files.Count == 0 || store.TryGetLocalPath(files.First().ObjectKey) is not null)
            return key => store.TryGetLocalPath(key) ?? throw new DataLakeException($"'{key}' of '{store.Location}' has no local path.");
        _spillDir ??= Directory.CreateTempSubdirectory("ecap-sql-").FullName;
        var tableDir = Path.Combine(_spillDir, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(store.Location)))[..16].ToLowerInvariant());
        string Local(string key) => Path.Combine(tableDir, key);
        var missing = files.Where(f => !_spilledFiles.Contains(Local(f.ObjectKey))).ToList();
        var needed = missing.Sum(f => f.Size);
        if (RemoteBytesFetched + needed > RemoteSpillLimitBytes)
            throw new InvalidInputException(
                $"SQL on '{store.Location}' would copy {needed:N0} bytes of data files locally, over the limit of {RemoteSpillLimitBytes:N0} " +
                "(LakeQuery.RemoteSpillLimitBytes); query a time-travel version or a smaller table, or read it with `ecap data-lake storage read --where`.");
        await Parallel.ForEachAsync(missing, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (file, token) =>
        {
            var path = Local(file.ObjectKey);
            Stream source;
            try { source = await store.OpenReadAsync(file.ObjectKey, token); } // validates the key before any local path is made
            catch (FileNotFoundException e)
            {
                throw new CorruptTableException(
                    $"Table '{store.Location}' (version {snapshot.Version}) cannot be read: its data file '{file.Path}' is missing " +
                    "(deleted by hand, or by vacuum with a short retention).", e);
            }
            await using (source)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var part = path + "." + Guid.NewGuid().ToString("N")[..8] + ".part";
                await using (var target = new FileStream(part, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
                    await source.CopyToAsync(target, 1 << 20, token);
                File.Move(part, path, overwrite: true);
            }
            Interlocked.Add(ref _spilledBytes, file.Size);
        });
        foreach (var f in missing) _spilledFiles.Add(Local(f.ObjectKey));
        return Local;
    }

    public void Dispose()
    {
        _connection.Dispose();
        if (_spillDir is { } dir)
        {
            _spillDir = null;
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { /* the temp folder is cleaned by the OS eventually */ }
            catch (UnauthorizedAccessException) { }
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>What a query touched: the lake files its views cover vs the files left in DuckDB's optimized plan.</summary>
public sealed record QueryStats
{
    public IReadOnlyList<string> TablesReferenced { get; init; } = [];
    public int FilesConsidered { get; init; }
    public int FilesRead { get; set; }
    public int FilesPruned => FilesConsidered - FilesRead;
    /// <summary>Size of the data files the scans opened (DuckDB reads only the needed columns and row groups of them).</summary>
    public long BytesScanned { get; set; }
    public TimeSpan Elapsed { get; set; }
    public long RowsReturned { get; set; }
}

/// <summary>A running query's result: column names and types, rows streaming from DuckDB.</summary>
public sealed class QueryResult : IDisposable, IAsyncDisposable
{
    private readonly DbCommand _command;
    private readonly DbDataReader _reader;
    private readonly Stopwatch _stopwatch;
    private Action? _onEnd;

    internal QueryResult(DbCommand command, DbDataReader reader, QueryStats stats, Stopwatch stopwatch, Action onEnd)
    {
        _onEnd = onEnd;
        _command = command;
        _reader = reader;
        _stopwatch = stopwatch;
        Stats = stats;
        Columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        ColumnTypes = Enumerable.Range(0, reader.FieldCount).Select(reader.GetFieldType).ToList();
        _sqlTypes = Enumerable.Range(0, reader.FieldCount).Select(reader.GetDataTypeName).ToArray();
    }

    private readonly string[] _sqlTypes;

    // DuckDB.NET hands DATE and TIMESTAMPTZ over as DateTime; keep what they are so they format as such.
    private object? Normalize(int column, object value) => (_sqlTypes[column], value) switch
    {
        (var t, DateTime d) when t.Equals("Date", StringComparison.OrdinalIgnoreCase) => DateOnly.FromDateTime(d),
        // DuckDB.NET returns TIMESTAMPTZ as the UTC instant in a DateTime of unspecified kind.
        (var t, DateTime d) when t.Equals("TimestampTz", StringComparison.OrdinalIgnoreCase)
            => new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)),
        _ => value,
    };

    public IReadOnlyList<string> Columns { get; }
    public IReadOnlyList<Type> ColumnTypes { get; }
    public QueryStats Stats { get; }

    /// <summary>The rows, one array of values each (SQL NULL as null), read as they are enumerated.</summary>
    public async IAsyncEnumerable<object?[]> ReadRowsAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        while (await NextRowAsync(ct))
        {
            var row = new object?[_reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = _reader.IsDBNull(i) ? null : Normalize(i, _reader.GetValue(i));
            Stats.RowsReturned++;
            yield return row;
        }
        End();
    }

    // In streaming mode a query fails while its rows are read (a cast that does not hold, a division by zero): the user's SQL.
    private async Task<bool> NextRowAsync(CancellationToken ct)
    {
        try { return await _reader.ReadAsync(ct); }
        catch (DuckDBException e) { throw new InvalidInputException("Query failed: " + e.Message); }
    }

    // Once: the profile is complete only after the reader is closed.
    private void End()
    {
        var onEnd = _onEnd;
        if (onEnd == null) return;
        _onEnd = null;
        Stats.Elapsed = _stopwatch.Elapsed;
        _reader.Dispose();
        _command.Dispose();
        onEnd();
    }

    /// <summary>The stats once every row was read or the result disposed.</summary>
    public void Dispose() => End();

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
