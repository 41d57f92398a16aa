using System.CommandLine;
using System.Globalization;
using Ecap.Cli.Output;
using Ecap.DataLake;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Storage;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary>
/// <c>ecap data-lake access ...</c> (grants, identity mode) and <c>ecap data-lake audit</c> (the audit trail, reconcile).
/// Who the caller is follows the lake's identity mode (<c>access identity set</c>): the OS user, <c>ECAP_PRINCIPAL</c>/<c>ECAP_GROUPS</c>
/// (env), or a bearer token in <c>ECAP_TOKEN</c> validated against the issuer pinned in the lake (oidc).
/// </summary>
internal static class AccessCommands
{
    public static Command Build()
    {
        var access = new Command("access", "Table and lake grants (read, write, admin); access control is on once any grant exists.");
        access.Add(Grant());
        access.Add(Revoke());
        access.Add(Show());
        access.Add(WhoAmI());
        access.Add(IdentityCommand());
        return access;
    }

    private static Command IdentityCommand()
    {
        var identity = new Command("identity", "How this lake learns who is calling: os-user (default), env or oidc. Kept in the lake, set by lake admins.");
        var show = new Command("show", "Show the lake's identity mode (and the pinned issuer and audience in oidc mode).\n\nExample:\n  ecap data-lake access identity show");
        show.SetCliAction(async (ctx, ct) =>
        {
            RenderIdentity(ctx, await new AccessControl(Guard(ctx)).GetIdentitySettingsAsync(ct));
            return 0;
        });
        var mode = new Argument<string>("MODE") { Description = "os-user (trusts whoever runs the process), env (ECAP_PRINCIPAL, for trusted services) or oidc (bearer tokens)" };
        var issuer = new Option<string?>("--issuer") { Description = "oidc: the issuer the tokens must name (iss)" };
        var audience = new Option<string?>("--audience") { Description = "oidc: the audience the tokens must name (aud)" };
        var jwks = new Option<string?>("--jwks") { Description = "oidc: a file with the issuer's signing keys (a JWKS document), pinned in the lake" };
        var set = new Command("set", "Pin the lake's identity mode (lake admins; audited). In oidc mode, grant lake admin to a token's principal first.\n\n" +
            "Examples:\n  ecap data-lake access identity set env\n  ecap data-lake access identity set oidc --issuer https://login.example.com/tenant --audience ecap --jwks keys.json")
        {
            mode, issuer, audience, jwks,
        };
        set.SetCliAction(async (ctx, ct) =>
        {
            var keys = ctx.Get(jwks) is { } file
                ? File.Exists(file) ? await File.ReadAllTextAsync(file, ct) : throw new InvalidInputException($"--jwks: no such file '{file}'.")
                : null;
            var settings = new IdentitySettings { Mode = IdentitySettings.ParseMode(ctx.Get(mode)), Issuer = ctx.Get(issuer), Audience = ctx.Get(audience), Jwks = keys };
            RenderIdentity(ctx, await new AccessControl(Guard(ctx)).SetIdentityModeAsync(settings, ct));
            return 0;
        });
        identity.Add(show);
        identity.Add(set);
        return identity;
    }

    private static void RenderIdentity(CliContext ctx, IdentitySettings s)
    {
        if (ctx.Json) CliJson.Write(new IdentityJson(IdentitySettings.ModeName(s.Mode), s.Issuer, s.Audience, s.Jwks is not null, s.SetBy, s.SetAt));
        else AnsiConsole.MarkupLine($"identity mode [bold]{IdentitySettings.ModeName(s.Mode)}[/]" +
            (s.Issuer is null ? "" : $" [grey](issuer {Markup.Escape(s.Issuer)}, audience {Markup.Escape(s.Audience ?? "")})[/]") +
            (s.SetBy is null ? " [grey](default)[/]" : $" [grey]set by {Markup.Escape(s.SetBy)} at {s.SetAt:u}[/]"));
    }

    private static LakeGuard Guard(CliContext ctx) => ctx.OpenDataLake().Guard;

    private static Argument<string> PrivilegeArgument() => new("PRIVILEGE") { Description = "read, write or admin" };

    private static Option<string> PrincipalOption() => new("--principal") { Description = "The user, service or group the grant is for", Required = true };

    private static Option<string?> TableOption() => new("--table") { Description = "The table the grant is on" };

    private static Option<bool> LakeOption() => new("--lake-wide") { Description = "The grant is on the whole lake (every table; lake admin administers grants)" };

    private static string? Scope(CliContext ctx, Option<string?> table, Option<bool> lake) => (ctx.Get(table), ctx.Get(lake)) switch
    {
        ({ } t, false) => t,
        (null, true) => null,
        _ => throw new InvalidInputException("Give exactly one of --table TABLE or --lake-wide."),
    };

    private static Command Grant()
    {
        var privilege = PrivilegeArgument();
        var principal = PrincipalOption();
        var table = TableOption();
        var lake = LakeOption();
        var exclude = new Option<string?>("--exclude-columns") { Description = "Comma-separated columns this grantee reads as NULL (reads and SQL)" };
        var command = new Command("grant", "Grant a privilege on a table or the lake. The first grant on a lake makes you lake admin and turns access control on.\n\nExample:\n  ecap data-lake access grant read --principal analysts --table transactions --exclude-columns customer_id")
        {
            privilege, principal, table, lake, exclude,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var grants = await new AccessControl(Guard(ctx)).GrantAsync(ctx.Get(principal), Privileges.Parse(ctx.Get(privilege)), Scope(ctx, table, lake),
                ctx.Get(exclude)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), ct);
            RenderGrants(ctx, grants);
            return 0;
        });
        return command;
    }

    private static Command Revoke()
    {
        var privilege = PrivilegeArgument();
        var principal = PrincipalOption();
        var table = TableOption();
        var lake = LakeOption();
        var command = new Command("revoke", "Revoke a grant.\n\nExample:\n  ecap data-lake access revoke read --principal analysts --table transactions")
        {
            privilege, principal, table, lake,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var grants = await new AccessControl(Guard(ctx)).RevokeAsync(ctx.Get(principal), Privileges.Parse(ctx.Get(privilege)), Scope(ctx, table, lake), ct);
            RenderGrants(ctx, grants);
            return 0;
        });
        return command;
    }

    private static Command Show()
    {
        var table = TableOption();
        var command = new Command("show", "Show the grants (of one table and the lake-wide ones, with --table).\n\nExample:\n  ecap data-lake access show --table transactions --output json") { table };
        command.SetCliAction(async (ctx, ct) =>
        {
            RenderGrants(ctx, await new AccessControl(Guard(ctx)).ShowAsync(ctx.Get(table), ct));
            return 0;
        });
        return command;
    }

    private static Command WhoAmI()
    {
        var command = new Command("whoami", "Show the principal and groups this lake's identity mode names for this process (see `access identity show`).\n\nExample:\n  ecap data-lake access whoami");
        command.SetCliAction(async (ctx, ct) =>
        {
            var p = await new AccessControl(Guard(ctx)).WhoAmIAsync(ct); // audited, as every other command
            if (ctx.Json) CliJson.Write(new WhoAmIJson(p.Name, p.Groups, p.Source));
            else AnsiConsole.MarkupLine($"{Markup.Escape(p.Name)} [grey](groups: {Markup.Escape(string.Join(", ", p.Groups))}; from {Markup.Escape(p.Source)})[/]");
            return 0;
        });
        return command;
    }

    /// <summary><c>ecap data-lake audit</c>: the audit records, oldest first.</summary>
    public static Command Audit()
    {
        var table = new Option<string?>("--table") { Description = "Only operations on this table" };
        var principal = new Option<string?>("--principal") { Description = "Only operations by this principal" };
        var since = new Option<string?>("--since") { Description = "Only operations at or after this time (ISO 8601, e.g. 2026-12-01T00:00:00Z)" };
        var limit = new Option<int>("--limit") { Description = "The newest N records (0: all of them, held in memory to sort)", DefaultValueFactory = _ => 1000 };
        var command = new Command("audit", "Show the audit trail (every operation, allowed or denied). Lake admins only once access control is on; also queryable as SQL table _ecap_audit.\n\nExample:\n  ecap data-lake audit --table transactions --since 2026-12-01T00:00:00Z")
        {
            table, principal, since, limit,
        };
        command.Add(Reconcile());
        command.SetCliAction(async (ctx, ct) =>
        {
            var filter = new AuditFilter(ctx.Get(table), ctx.Get(principal),
                ctx.Get(since) is { } s ? CliValues.Timestamp(s, "--since") : null);
            var guard = Guard(ctx);
            var records = await ctx.Status.Status().StartAsync("reading the audit trail", _ =>
                Ecap.DataLake.Server.AuditTrail.ReadNewestAsync(guard, filter, ctx.Get(limit), ctx.Get(since), ct));
            RenderAudit(ctx, records);
            return 0;
        });
        return command;
    }

    private static Command Reconcile()
    {
        var table = new Option<string?>("--table") { Description = "Only this table's commits (default: every table)" };
        var grace = new Option<double>("--grace-minutes") { Description = "Leave commits younger than this alone: their writer may still be auditing them", DefaultValueFactory = _ => 10 };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show the records that are missing, add nothing" };
        var command = new Command("reconcile", "Add an audit record for every committed version that lacks one (its writer died or the audit store failed), " +
            "rebuilt from the commit's own attribution and marked recovered. Lake admins.\n\nExample:\n  ecap data-lake audit reconcile --dry-run")
        {
            table, grace, dryRun,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            if (ctx.Get(grace) is var minutes && (minutes < 0 || double.IsNaN(minutes))) throw new InvalidInputException($"--grace-minutes must not be negative (got {minutes}).");
            var result = await ctx.Status.Status().StartAsync("reading table logs and the audit trail", _ =>
                new AuditReconciler(ctx.OpenDataLake().Storage).ReconcileAsync(new AuditReconcileOptions
                {
                    Table = ctx.Get(table), Grace = TimeSpan.FromMinutes(minutes), DryRun = ctx.Get(dryRun),
                }, ct));
            if (ctx.Json)
            {
                CliJson.Write(new AuditReconcileJson(result.TablesScanned, result.CommitsScanned, result.CommitsAudited, result.CommitsTooRecent,
                    result.Recovered.Count, ctx.Get(dryRun), result.Recovered));
                return 0;
            }
            RenderAudit(ctx, result.Recovered);
            AnsiConsole.MarkupLine($"{result.CommitsScanned:N0} commit(s) in {result.TablesScanned} table(s): {result.CommitsAudited:N0} audited, " +
                $"{result.CommitsTooRecent:N0} too recent to judge, {result.Recovered.Count:N0} record(s) {(ctx.Get(dryRun) ? "missing (dry run: nothing added)" : "recovered")}.");
            return 0;
        });
        return command;
    }

    private static void RenderGrants(CliContext ctx, IReadOnlyList<Grant> grants)
    {
        if (ctx.Json)
        {
            CliJson.Write(grants.Select(GrantJson.From));
            return;
        }
        var grid = new Table().Border(TableBorder.Rounded).AddColumns("grantee", "privilege", "on", "excluded columns", "granted by", "granted at");
        foreach (var g in grants)
            grid.AddRow(Markup.Escape(g.Grantee), g.Privilege.Name(), g.Table is null ? "[bold]lake[/]" : Markup.Escape(g.Table),
                Markup.Escape(string.Join(", ", g.ExcludedColumns)), Markup.Escape(g.GrantedBy ?? ""), g.GrantedAt.ToString("u", CultureInfo.InvariantCulture));
        AnsiConsole.Write(grid);
        if (grants.Count == 0) AnsiConsole.MarkupLine("[grey]no grants: access control is off[/]");
    }

    private static void RenderAudit(CliContext ctx, IReadOnlyList<AuditRecord> records)
    {
        if (ctx.Json)
        {
            CliJson.Write(records);
            return;
        }
        var grid = new Table().Border(TableBorder.Rounded).AddColumns("time", "principal", "operation", "table", "outcome", "rows", "version", "error");
        foreach (var r in records)
            grid.AddRow(r.Time.ToString("u", CultureInfo.InvariantCulture), Markup.Escape(r.Principal), Markup.Escape(r.Operation), Markup.Escape(r.Table ?? ""),
                r.Outcome == AuditOutcome.Succeeded ? "[green]succeeded[/]" : $"[red]{r.Outcome}[/]",
                r.Rows?.ToString("N0", CultureInfo.InvariantCulture) ?? "", r.TableVersion?.ToString(CultureInfo.InvariantCulture) ?? "", Markup.Escape(r.Error ?? ""));
        AnsiConsole.Write(grid);
        if (records.Count == 0) AnsiConsole.MarkupLine("[grey]no audit records match[/]");
    }
}
