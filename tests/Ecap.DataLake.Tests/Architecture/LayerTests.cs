using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Tests.Architecture;

/// <summary>
/// The core assembly's namespaces respect the layer diagram of docs/architecture.md: a folder
/// (Ecap.DataLake.&lt;Folder&gt;[.&lt;Sub&gt;]) uses only its own folder and folders of lower layers.
/// Checked on the compiled assembly (signatures and IL), so names in source text cannot fool it.
/// </summary>
public class LayerTests
{
    // The diagram, bottom first; keep in step with docs/architecture.md. "Root" = the exception types of the
    // root namespace (usable by all), "Lake" = any other root-namespace type (the facade; nothing may use it).
    internal static readonly string[][] Layers =
    [
        ["Root"], ["Metrics"], ["Storage"], ["Arrow"], ["Expressions"], ["Parquet"], ["Delta"],
        ["Security", "Residency"], ["Files", "Lineage"], ["Tables"],
        ["Quality", "Compaction", "Catalog", "Ingestion", "Monitoring"],
        ["Lake"],
    ];

    // The only edges allowed between folders of one layer.
    internal static readonly HashSet<(string From, string To)> SameLayerAllowed =
    [
        ("Ingestion", "Monitoring"), // a stream writes the heartbeat the monitor reads
    ];

    private static readonly Assembly Core = typeof(DataLakeException).Assembly;

    [Fact]
    public void Core_namespaces_depend_only_on_lower_layers()
    {
        var layerOf = LayerIndex();
        var deps = Dependencies(Core);
        var unknown = Core.GetTypes().Select(Folder).OfType<string>()
            .Where(f => !layerOf.ContainsKey(f)).Distinct().Order(StringComparer.Ordinal)
            .Select(f => $"folder '{f}' is not in the layer diagram: add it to docs/architecture.md and {nameof(Layers)}");
        var violations = deps
            .Select(d => (d.From, d.To, FromFolder: Folder(d.From)!, ToFolder: Folder(d.To)!))
            .Where(d => layerOf.ContainsKey(d.FromFolder) && layerOf.ContainsKey(d.ToFolder)
                        && !Allowed(d.FromFolder, d.ToFolder, layerOf))
            .Select(d => $"{d.FromFolder} -> {d.ToFolder} ({d.From.FullName} uses {d.To.FullName})")
            .Order(StringComparer.Ordinal);
        var problems = unknown.Concat(violations).ToList();
        Assert.True(problems.Count == 0, $"{problems.Count} layer violations:\n" + string.Join("\n", problems));
    }

    /// <summary>
    /// The satellites sit above the core (docs/architecture.md): the core never references them nor their SDKs, so a lake
    /// user who needs neither PostgreSQL nor Azure carries neither. The Azure store depends only on the core's Storage seam.
    /// </summary>
    [Fact]
    public void Core_references_no_satellite_and_the_azure_store_uses_only_the_storage_seam_and_the_root()
    {
        var referenced = Core.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(referenced, n => n.StartsWith("Ecap.DataLake.", StringComparison.Ordinal) || n.StartsWith("Azure.", StringComparison.Ordinal));
        var azure = typeof(Ecap.DataLake.Azure.AzureBlobObjectStore).Assembly;
        var used = azure.GetTypes().SelectMany(t => Referenced(t).SelectMany(Unwrap)).Select(Folder).OfType<string>().ToHashSet();
        Assert.Contains("Storage", used); // the check sees the store's use of IObjectStore
        Assert.Subset(new HashSet<string> { "Root", "Storage", "Lake" }, used); // Lake: DataLakeBuilder, for UseAzure
    }

    [Fact]
    public void Checker_sees_method_bodies_and_applies_the_rules()
    {
        // RemoveFile.For is only called inside async methods of DataLakeStorage (never in a signature or field):
        // finding it proves the IL of state machines is decoded and attributed to the declaring type.
        var restore = typeof(DataLakeStorage).GetMethod("RestoreCoreAsync", BindingFlags.NonPublic | BindingFlags.Instance)!;
        var moveNext = restore.GetCustomAttribute<AsyncStateMachineAttribute>()!.StateMachineType
            .GetMethod("MoveNext", BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance)!;
        Assert.Contains(typeof(RemoveFile), BodyTypes(moveNext));
        Assert.Contains((typeof(DataLakeStorage), typeof(RemoveFile)), Dependencies(Core));

        var layerOf = LayerIndex();
        Assert.True(Allowed("Tables", "Delta", layerOf));
        Assert.True(Allowed("Ingestion", "Monitoring", layerOf));
        Assert.False(Allowed("Ingestion", "Quality", layerOf));
        Assert.True(Allowed("Tables", "Root", layerOf));
        Assert.False(Allowed("Delta", "Tables", layerOf));
        Assert.False(Allowed("Security", "Residency", layerOf));
        Assert.False(Allowed("Quality", "Ingestion", layerOf));
        Assert.False(Allowed("Tables", "Lake", layerOf));
        Assert.Equal("Tables", Folder(typeof(Ecap.DataLake.Tables.Reading.TableScan)));
        Assert.Equal("Root", Folder(typeof(TableNotFoundException)));
    }

    private static Dictionary<string, int> LayerIndex() =>
        Layers.SelectMany((folders, i) => folders.Select(f => (f, i))).ToDictionary(x => x.f, x => x.i);

    internal static bool Allowed(string from, string to, Dictionary<string, int> layerOf) =>
        from == to || layerOf[to] < layerOf[from] || (layerOf[to] == layerOf[from] && SameLayerAllowed.Contains((from, to)));

    /// <summary>The core folder of a type: the 3rd namespace segment, or Root / Lake for the root namespace; null outside the core.</summary>
    internal static string? Folder(Type type)
    {
        if (type.Assembly != Core) return null;
        while (type.DeclaringType != null) type = type.DeclaringType;   // closures, state machines -> their declaring type
        var ns = type.Namespace;
        if (ns == "Ecap.DataLake") return type.IsAssignableTo(typeof(DataLakeException)) ? "Root" : "Lake";
        // Compiler helpers (<PrivateImplementationDetails>, anonymous types, embedded attributes) are not core folders.
        return ns != null && ns.StartsWith("Ecap.DataLake.", StringComparison.Ordinal) ? ns.Split('.')[2] : null;
    }

    /// <summary>Every (outermost core type, outermost core type it references) pair, same-folder pairs included.</summary>
    internal static HashSet<(Type From, Type To)> Dependencies(Assembly assembly)
    {
        var result = new HashSet<(Type, Type)>();
        foreach (var type in assembly.GetTypes())
        {
            if (Folder(type) == null) continue;
            var from = Outermost(type);
            foreach (var used in Referenced(type).SelectMany(Unwrap))
                if (Folder(used) != null && Outermost(used) != from) result.Add((from, Outermost(used)));
        }
        return result;
    }

    private static Type Outermost(Type t) { while (t.DeclaringType != null) t = t.DeclaringType; return t; }

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance
                                     | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>The types a type names: base, interfaces, generic constraints, attributes, member signatures, method bodies.</summary>
    private static IEnumerable<Type> Referenced(Type type)
    {
        if (type.BaseType != null) yield return type.BaseType;
        foreach (var t in type.GetInterfaces()) yield return t;
        foreach (var t in type.GetGenericArguments().SelectMany(GenericConstraints)) yield return t;
        foreach (var t in AttributeTypes(type.GetCustomAttributesData())) yield return t;
        foreach (var f in type.GetFields(All)) { yield return f.FieldType; foreach (var t in AttributeTypes(f.GetCustomAttributesData())) yield return t; }
        foreach (var p in type.GetProperties(All)) { yield return p.PropertyType; foreach (var t in AttributeTypes(p.GetCustomAttributesData())) yield return t; }
        foreach (var e in type.GetEvents(All)) if (e.EventHandlerType != null) yield return e.EventHandlerType;
        foreach (var m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (m is MethodInfo mi) { yield return mi.ReturnType; foreach (var t in mi.GetGenericArguments().SelectMany(GenericConstraints)) yield return t; }
            foreach (var p in m.GetParameters()) { yield return p.ParameterType; foreach (var t in AttributeTypes(p.GetCustomAttributesData())) yield return t; }
            foreach (var t in AttributeTypes(m.GetCustomAttributesData())) yield return t;
            foreach (var t in BodyTypes(m)) yield return t;
        }
    }

    private static IEnumerable<Type> GenericConstraints(Type parameter) =>
        parameter.IsGenericParameter ? parameter.GetGenericParameterConstraints() : [];

    // An attribute's type and any typeof(...) among its arguments.
    private static IEnumerable<Type> AttributeTypes(IEnumerable<CustomAttributeData> attributes) =>
        attributes.SelectMany(a => a.ConstructorArguments.Concat(a.NamedArguments.Select(n => n.TypedValue))
            .Select(v => v.Value as Type).OfType<Type>().Prepend(a.AttributeType));

    // IL opcodes by their value: one-byte ones, and the 0xFE-prefixed two-byte ones by their second byte.
    private static readonly OpCode?[] OneByte = new OpCode?[256], TwoByte = new OpCode?[256];

    static LayerTests()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)field.GetValue(null)!;
            var value = (ushort)op.Value;
            if (op.Size == 1) OneByte[value] = op; else TwoByte[value & 0xFF] = op;
        }
    }

    /// <summary>The types a method body uses: locals, catch clauses, and every type, field or method token in its IL.</summary>
    internal static IEnumerable<Type> BodyTypes(MethodBase method)
    {
        var body = method.GetMethodBody();
        if (body == null) yield break;
        foreach (var local in body.LocalVariables) yield return local.LocalType;
        foreach (var clause in body.ExceptionHandlingClauses)
            if (clause.Flags == ExceptionHandlingClauseOptions.Clause) yield return clause.CatchType!;
        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var il = body.GetILAsByteArray()!;
        for (var pos = 0; pos < il.Length;)
        {
            var op = il[pos] == 0xFE ? TwoByte[il[++pos]] : OneByte[il[pos]];
            if (op == null) throw new InvalidOperationException($"unknown opcode at {pos} in {method.DeclaringType}.{method.Name}");
            pos++;
            switch (op.Value.OperandType)
            {
                case OperandType.InlineType or OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok:
                    var member = method.Module.ResolveMember(BitConverter.ToInt32(il, pos), typeArgs, methodArgs)!;
                    foreach (var t in MemberTypes(member)) yield return t;
                    pos += 4;
                    break;
                case OperandType.InlineSwitch: pos += 4 + 4 * BitConverter.ToInt32(il, pos); break;
                default: pos += OperandSize(op.Value.OperandType); break;
            }
        }
    }

    // A referenced member brings its declaring type and its signature (the caller builds the arguments, gets the result).
    private static IEnumerable<Type> MemberTypes(MemberInfo member) => member switch
    {
        Type t => [t],
        FieldInfo f => [f.DeclaringType!, f.FieldType],
        MethodInfo m => [m.DeclaringType!, m.ReturnType, .. m.GetParameters().Select(p => p.ParameterType), .. m.GetGenericArguments()],
        ConstructorInfo c => [c.DeclaringType!, .. c.GetParameters().Select(p => p.ParameterType)],
        _ => member.DeclaringType is { } dt ? [dt] : [],
    };

    private static int OperandSize(OperandType type) => type switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        _ => 4,   // InlineBrTarget, InlineI, InlineSig, InlineString, ShortInlineR (tokens handled above)
    };

    /// <summary>The named types inside a type: element types of arrays/by-refs/pointers, generic definitions and arguments.</summary>
    private static IEnumerable<Type> Unwrap(Type type)
    {
        if (type.HasElementType) return Unwrap(type.GetElementType()!);
        if (type.IsGenericParameter || type.IsFunctionPointer) return [];
        if (type.IsConstructedGenericType)
            return type.GetGenericArguments().SelectMany(Unwrap).Prepend(type.GetGenericTypeDefinition());
        return [type];
    }
}
