using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;

namespace Ecap.DataLake.Query;

/// <summary>
/// Builds the DuckDB SQL of a view over one snapshot: one <c>read_parquet([...])</c> branch per distinct set of
/// partition values, the partition columns added as typed constants taken from the log. DuckDB's optimizer folds
/// a filter on a partition column to false in the branches that cannot match and drops them, so their files are
/// never scanned.
/// </summary>
public static class LakeViews
{
    /// <summary>A double-quoted SQL identifier; embedded quotes doubled, so no name can end the identifier early.</summary>
    public static string QuoteIdentifier(string name)
    {
        if (name.Contains('\0')) throw new InvalidInputException("An identifier cannot contain a NUL character.");
        return "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>A single-quoted SQL string literal.</summary>
    public static string QuoteLiteral(string value)
    {
        if (value.Contains('\0')) throw new InvalidInputException("A SQL literal cannot contain a NUL character.");
        return "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    /// <summary>A file group: the files sharing one set of partition values.</summary>
    public sealed record FileGroup(IReadOnlyDictionary<string, string?> PartitionValues, IReadOnlyList<AddFile> Files);

    public static IReadOnlyList<FileGroup> Group(Snapshot snapshot) => Group(snapshot, snapshot.Files);

    private static IReadOnlyList<FileGroup> Group(Snapshot snapshot, IReadOnlyCollection<AddFile> live)
    {
        var columns = snapshot.PartitionColumns;
        return live
            .GroupBy(f => string.Join("\u0001", columns.Select(c => f.PartitionValues.TryGetValue(c, out var v) ? v ?? "\u0000" : "\u0000")), StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new FileGroup(g.First().PartitionValues, g.OrderBy(f => f.Path, StringComparer.Ordinal).ToList()))
            .ToList();
    }

    /// <summary>The SELECT defining the view of <paramref name="snapshot"/>; <paramref name="localPath"/> maps an object key to a file path.</summary>
    /// <remarks>With <paramref name="hivePaths"/> and paths checked equal to the log, one hive-partitioned scan instead of the union.</remarks>
    public static string ViewSql(Snapshot snapshot, Func<string, string> localPath, bool hivePaths = true) =>
        ViewSql(snapshot, localPath, hivePaths, null);

    /// <summary>
    /// The view SQL; <paramref name="deletedRows"/> names, per <see cref="AddFile.Path"/> of each file with a deletion vector, a
    /// table of the physical rows it deletes (column <c>pos</c>): that file gets its own branch, anti-joined on DuckDB's
    /// <c>file_row_number</c>.
    /// </summary>
    /// <remarks><paramref name="listed"/>: the snapshot's files the view lists (default all; fewer for a remote table whose query's
    /// partition filters rule the others out, see <see cref="RemotePruning"/>).</remarks>
    internal static string ViewSql(Snapshot snapshot, Func<string, string> localPath, bool hivePaths, IReadOnlyDictionary<string, string>? deletedRows,
        IReadOnlyCollection<AddFile>? listed = null)
    {
        var live = listed ?? snapshot.Files;
        var withVectors = live.Where(f => f.DeletionVector is { Cardinality: > 0 }).ToList();
        if (withVectors.Any(f => deletedRows is null || !deletedRows.ContainsKey(f.Path)))
            throw new UnsupportedProtocolException(
                "The table has deletion vectors (Delta feature deletionVectors): its SQL view needs the deleted rows of each file; query it through LakeQuery.");
        var schema = snapshot.Schema;
        var partition = new HashSet<string>(snapshot.PartitionColumns, StringComparer.Ordinal);
        var groups = Group(snapshot, live);
        if (groups.Count == 0)
        {
            // An empty table still has its columns, so queries over it bind.
            var cols = schema.FieldsList.Select(f => $"CAST(NULL AS {SqlType(f.DataType)}) AS {QuoteIdentifier(f.Name)}");
            return "SELECT " + string.Join(", ", cols) + " WHERE false";
        }
        var mapping = snapshot.Metadata.Configuration.GetValueOrDefault(ColumnMappingModeKey) ?? "none";
        if (mapping != "none" && mapping != "name")
            // DuckDB's read_parquet matches columns by name; mode id needs the Parquet field ids. Refused, not guessed.
            throw new InvalidInputException(
                $"Table '{snapshot.Location}' uses column mapping mode '{mapping}' (delta.columnMapping.mode): SQL views match columns by name " +
                "and cannot read it; read it with 'ecap data-lake storage read' instead.");
        if (mapping == "none" && hivePaths && partition.Count > 0 && withVectors.Count == 0 && HivePathsMatchLog(snapshot))
            return HiveViewSql(snapshot, localPath, live);
        var sb = new StringBuilder();
        foreach (var whole in groups)
        {
            // Files whose vector deletes rows each get a branch of their own; the others share one.
            var plain = whole.Files.Where(f => f.DeletionVector is null || f.DeletionVector.Cardinality == 0).ToList();
            var branches = whole.Files.Except(plain).Select(f => (Files: (IReadOnlyList<AddFile>)[f], Deleted: (string?)deletedRows![f.Path])).ToList();
            if (plain.Count > 0) branches.Insert(0, (plain, null));
            foreach (var (files, deleted) in branches)
                AppendBranch(sb, whole with { Files = files }, deleted);
        }
        return sb.ToString();

        void AppendBranch(StringBuilder sb, FileGroup group, string? deleted)
        {
            if (sb.Length > 0) sb.Append("\nUNION ALL\n");
            var present = PresentColumns(group.Files, schema);
            sb.Append("SELECT ");
            var first = true;
            foreach (var field in schema.FieldsList)
            {
                if (!first) sb.Append(", ");
                first = false;
                var type = SqlType(field.DataType);
                if (partition.Contains(field.Name))
                {
                    group.PartitionValues.TryGetValue(field.Name, out var v);
                    sb.Append(v == null ? $"CAST(NULL AS {type})" : $"CAST({QuoteLiteral(PartitionLiteral(v, field.DataType))} AS {type})");
                }
                else if (present == null || present.Contains(field.Name) || field.DataType is not NestedType)
                    sb.Append(DataColumn(field)); // a column no stats show is read too: see Guarded
                else
                    sb.Append($"CAST(NULL AS {type})"); // a column added after these files were written
                sb.Append(" AS ").Append(QuoteIdentifier(field.Name));
            }
            // file_row_number is the physical row index in the file, as deletion vectors count rows. The positions are a
            // bitstring in a table (a list literal of a million numbers takes DuckDB seconds to bind; get_bit, nanoseconds a row).
            var scan = "read_parquet([" + string.Join(", ", group.Files.Select(f => QuoteLiteral(localPath(f.ObjectKey)))) +
                "], hive_partitioning = false, union_by_name = true" + (deleted is null ? ")" : ", file_row_number = true)");
            sb.Append(" FROM ").Append(Guarded(scan, schema, partition, present, mapping != "none"));
            if (deleted is not null)
                sb.Append(" WHERE (file_row_number > (SELECT last FROM ").Append(QuoteIdentifier(deleted))
                  .Append(") OR get_bit((SELECT b FROM ").Append(QuoteIdentifier(deleted)).Append("), file_row_number::INTEGER) = 0)");
        }
    }

    /// <summary>
    /// When every file's folder path spells exactly the log's partition values (as this library writes them), one
    /// <c>read_parquet</c> over all files with <c>hive_partitioning</c> gives the same columns and lets DuckDB
    /// prune files by partition filters in a single scan, which runs faster than a union of many branches.
    /// The values are the log's: the paths are only used after they are checked equal to them.
    /// </summary>
    private static string HiveViewSql(Snapshot snapshot, Func<string, string> localPath, IReadOnlyCollection<AddFile> live)
    {
        var schema = snapshot.Schema;
        var partition = new HashSet<string>(snapshot.PartitionColumns, StringComparer.Ordinal);
        var files = live.OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        var present = PresentColumns(files, schema);
        var cols = schema.FieldsList.Select(f =>
            partition.Contains(f.Name) ? QuoteIdentifier(f.Name)
            : present == null || present.Contains(f.Name) || f.DataType is not NestedType
                ? DataColumn(f) + " AS " + QuoteIdentifier(f.Name)
                : $"CAST(NULL AS {SqlType(f.DataType)}) AS {QuoteIdentifier(f.Name)}");
        var types = string.Join(", ", snapshot.PartitionColumns.Select(c => $"{QuoteLiteral(c)}: {SqlType(schema.GetFieldByName(c).DataType)}"));
        var scan = "read_parquet([" + string.Join(", ", files.Select(f => QuoteLiteral(localPath(f.ObjectKey)))) +
            $"], hive_partitioning = true, hive_types = {{{types}}}, union_by_name = true)";
        return "SELECT " + string.Join(", ", cols) + " FROM " + Guarded(scan, schema, partition, present, mapped: false);
    }

    /// <summary>
    /// The scan, with an empty typed branch (<c>UNION ALL BY NAME ... WHERE false</c>) for the data columns no stats show
    /// in its files. Stats may leave columns out (Spark indexes the first 32; old files predate added columns): such a
    /// column is read from the files that have it and is NULL in the others, instead of NULL everywhere. Without any stats
    /// every column is assumed present, except under column mapping (an added column has a physical name no file has).
    /// Nested columns are not guarded (a typed NULL of a struct is not expressible here).
    /// </summary>
    private static string Guarded(string scan, Schema schema, HashSet<string> partition, HashSet<string>? present, bool mapped)
    {
        var unknown = schema.FieldsList.Where(f => !partition.Contains(f.Name) && f.DataType is not NestedType &&
            (present == null ? mapped : !present.Contains(f.Name))).ToList();
        if (unknown.Count == 0) return scan;
        return $"(SELECT * FROM {scan} UNION ALL BY NAME SELECT " +
            string.Join(", ", unknown.Select(f => $"CAST(NULL AS {SqlType(f.DataType)}) AS {QuoteIdentifier(PhysicalName(f))}")) + " WHERE false)";
    }

    /// <summary>
    /// A data column as the table types it. Other writers store a Delta timestamp as INT96 or without isAdjustedToUTC,
    /// which DuckDB reads as a naive TIMESTAMP: cast to the table's type (a no-op when the file has it already, so
    /// filters still reach the Parquet scan). The session zone is UTC (<see cref="LakeQuery"/>), as Delta reads them.
    /// </summary>
    /// <remarks>
    /// Column mapping (mode name): the files name columns, and struct fields at any depth, by their physical names; the
    /// view reads those and rebuilds structs (also inside lists and maps) with the logical field names.
    /// </remarks>
    private static string DataColumn(Field field)
    {
        var column = QuoteIdentifier(PhysicalName(field));
        if (Renames(field.DataType)) return Logical(column, field.DataType, 0);
        // Type widening: files written before the change hold the narrower type (exact casts: int to bigint, date to timestamp).
        var widened = field.HasMetadata && field.Metadata.ContainsKey("delta.typeChanges") && field.DataType is not NestedType;
        return field.DataType is TimestampType || widened ? $"CAST({column} AS {SqlType(field.DataType)})" : column;
    }

    private const string ColumnMappingModeKey = "delta.columnMapping.mode";

    private static string PhysicalName(Field field) =>
        field.HasMetadata && field.Metadata.TryGetValue("delta.columnMapping.physicalName", out var p) && !string.IsNullOrEmpty(p) ? p : field.Name;

    /// <summary>True when some struct field inside the type has a physical name other than its logical one.</summary>
    private static bool Renames(IArrowType type) => type switch
    {
        StructType st => st.Fields.Any(f => PhysicalName(f) != f.Name || Renames(f.DataType)),
        MapType mt => Renames(mt.KeyField.DataType) || Renames(mt.ValueField.DataType),
        ListType lt => Renames(lt.ValueDataType),
        _ => false,
    };

    /// <summary>A SQL expression giving the (physical) value <paramref name="expr"/> the logical field names of <paramref name="type"/>.</summary>
    private static string Logical(string expr, IArrowType type, int depth)
    {
        if (!Renames(type)) return type is TimestampType ? $"CAST({expr} AS {SqlType(type)})" : expr;
        var x = "x" + depth.ToString(CultureInfo.InvariantCulture);
        switch (type)
        {
            case StructType st:
                var fields = st.Fields.Select(f =>
                    $"{QuoteIdentifier(f.Name)} := {Logical($"struct_extract({expr}, {QuoteLiteral(PhysicalName(f))})", f.DataType, depth + 1)}");
                return $"CASE WHEN {expr} IS NULL THEN NULL ELSE struct_pack({string.Join(", ", fields)}) END";
            case MapType mt:
                return $"map_from_entries(list_transform(map_entries({expr}), lambda {x}: struct_pack(" +
                    $"\"key\" := {Logical($"struct_extract({x}, 'key')", mt.KeyField.DataType, depth + 1)}, " +
                    $"\"value\" := {Logical($"struct_extract({x}, 'value')", mt.ValueField.DataType, depth + 1)})))";
            case ListType lt:
                return $"list_transform({expr}, lambda {x}: {Logical(x, lt.ValueDataType, depth + 1)})";
            default:
                return expr;
        }
    }

    private static bool HivePathsMatchLog(Snapshot snapshot)
    {
        var columns = snapshot.PartitionColumns;
        foreach (var file in snapshot.Files)
        {
            var segments = file.ObjectKey.Split('/');
            var seen = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < segments.Length - 1; i++)
            {
                var eq = segments[i].IndexOf('=');
                if (eq <= 0) continue;
                if (!seen.TryAdd(segments[i][..eq], segments[i][(eq + 1)..])) return false;
            }
            if (seen.Count != columns.Count) return false; // an extra key=value folder would become a column
            foreach (var c in columns)
            {
                // Null, empty or escaped values: DuckDB would read them differently from the log.
                if (!file.PartitionValues.TryGetValue(c, out var v) || string.IsNullOrEmpty(v) || v.Contains('%') ||
                    !seen.TryGetValue(c, out var fromPath) || fromPath != v)
                    return false;
            }
        }
        return true;
    }

    /// <summary>Columns the group's files hold, from their stats; null when some file has no stats (assume all).</summary>
    private static HashSet<string>? PresentColumns(IReadOnlyList<AddFile> files, Schema schema)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in files)
        {
            if (!DataFileStats.TryParse(f.Stats, schema, out var stats) || stats.Columns.Count == 0) return null;
            present.UnionWith(stats.Columns.Keys);
            // Stats are keyed by leaf (s.x): a struct is present when one of its leaves is.
            present.UnionWith(stats.Columns.Keys.Where(k => k.Contains('.')).Select(k => k[..k.IndexOf('.')]));
        }
        // Lists and maps never have stats: take them as present (a file lacking one reads it as NULL by name).
        present.UnionWith(schema.FieldsList.Where(f => !HasStatsLeaf(f.DataType)).Select(f => f.Name));
        return present;
    }

    private static bool HasStatsLeaf(IArrowType type) => type switch
    {
        StructType st => st.Fields.Any(f => HasStatsLeaf(f.DataType)),
        NestedType => false,
        _ => true,
    };

    // Delta writes timestamp partition values as "yyyy-MM-dd HH:mm:ss[.ffffff]" in UTC; DuckDB casts that text as is.
    private static string PartitionLiteral(string value, IArrowType type) =>
        type is TimestampType { Timezone: not null } && !value.EndsWith('Z') && !value.Contains('+') ? value + "+00" : value;

    /// <summary>The DuckDB type of an Arrow type (the ones Delta tables use).</summary>
    public static string SqlType(IArrowType type) => type switch
    {
        BooleanType => "BOOLEAN",
        Int8Type => "TINYINT",
        Int16Type => "SMALLINT",
        Int32Type => "INTEGER",
        Int64Type => "BIGINT",
        FloatType => "FLOAT",
        DoubleType => "DOUBLE",
        StringType or LargeStringType => "VARCHAR",
        BinaryType or LargeBinaryType => "BLOB",
        Date32Type or Date64Type => "DATE",
        TimestampType { Timezone: not null } => "TIMESTAMPTZ",
        TimestampType => "TIMESTAMP",
        Decimal128Type d => string.Create(CultureInfo.InvariantCulture, $"DECIMAL({d.Precision}, {d.Scale})"),
        _ => "VARCHAR",
    };
}
