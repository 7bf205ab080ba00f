using System.Globalization;
using System.Text.RegularExpressions;
using Cronos;

namespace PachPS.Engine;

/// <summary>
/// When a cron input ticks or a branch trigger is due: cron syntax (5 fields, or 6 with seconds), the macros @yearly ... @hourly, and
/// "@every &lt;duration&gt;" (30s, 5m, 1h). Parsing and next-occurrence arithmetic are Cronos's for cron syntax.
/// </summary>
public sealed partial class CronSchedule
{
    private readonly CronExpression? _expression;
    private readonly TimeSpan? _every;

    private CronSchedule(string text, CronExpression? expression, TimeSpan? every)
    {
        Text = text;
        _expression = expression;
        _every = every;
    }

    public string Text { get; }

    [GeneratedRegex(@"^@every\s+(.+)$")]
    private static partial Regex EveryPattern();

    /// <summary>Parses a pipeline's cron input spec; a bad one is PipelineSpecInvalid.</summary>
    public static CronSchedule Parse(string text, string pipeline)
    {
        if (EveryPattern().Match(text.Trim()) is { Success: true } every)
            return new CronSchedule(text.Trim(), null, DurationParser.Parse(every.Groups[1].Value, "input.cron.spec", pipeline));
        return Parse(text, reason => PachException.Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': input.cron.spec '{text}' is not a schedule: {reason}", pipeline));
    }

    /// <summary>Parses a schedule; a bad one is the exception <paramref name="invalid"/> makes of the reason.</summary>
    internal static CronSchedule Parse(string text, Func<string, PachException> invalid)
    {
        var trimmed = text.Trim();
        if (EveryPattern().Match(trimmed) is { Success: true } every)
            return new CronSchedule(trimmed, null, DurationParser.TryParse(every.Groups[1].Value) ?? throw invalid("@every needs a duration such as 30s, 5m or 1h"));
        try
        {
            var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            var format = fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;
            return new CronSchedule(trimmed, CronExpression.Parse(trimmed, format), null);
        }
        catch (CronFormatException ex)
        {
            throw invalid(ex.Message);
        }
    }

    /// <summary>The first tick strictly after <paramref name="after"/>.</summary>
    public DateTime Next(DateTime after) =>
        _every is { } every ? after + every : _expression!.GetNextOccurrence(DateTime.SpecifyKind(after, DateTimeKind.Utc), TimeZoneInfo.Utc) ?? DateTime.MaxValue;

    /// <summary>The newest tick due at <paramref name="now"/> after <paramref name="last"/> (missed ticks collapse into this one), or null.</summary>
    public DateTime? Due(DateTime last, DateTime now)
    {
        var next = Next(last);
        if (next > now) return null;
        if (_every is { } every)
        {
            var steps = (long)((now - last).Ticks / every.Ticks);
            return last + TimeSpan.FromTicks(every.Ticks * steps);
        }
        DateTime due = next;
        for (var n = Next(next); n <= now; n = Next(n)) due = n;
        return due;
    }

    /// <summary>The name of a tick's file: its time, sortable.</summary>
    public static string FileName(DateTime tick) => tick.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>Go-style durations as Pachyderm writes them: "30s", "5m", "1h30m", "250ms".</summary>
internal static partial class DurationParser
{
    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|h|m|s)")]
    private static partial Regex Part();

    public static TimeSpan Parse(string text, string field, string pipeline) => TryParse(text)
        ?? throw PachException.Invalid("PipelineSpecInvalid", $"Pipeline '{pipeline}': {field} must be a duration such as \"30s\", \"5m\" or \"1h\", not \"{text}\".", pipeline);

    /// <summary>The duration, or null when <paramref name="text"/> is not one (or not positive).</summary>
    public static TimeSpan? TryParse(string text)
    {
        var trimmed = text.Trim();
        var total = TimeSpan.Zero;
        var consumed = 0;
        foreach (Match m in Part().Matches(trimmed))
        {
            var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch { "h" => TimeSpan.FromHours(value), "m" => TimeSpan.FromMinutes(value), "s" => TimeSpan.FromSeconds(value), _ => TimeSpan.FromMilliseconds(value) };
            consumed += m.Length;
        }
        return consumed == 0 || consumed != trimmed.Length || total <= TimeSpan.Zero ? null : total;
    }
}
