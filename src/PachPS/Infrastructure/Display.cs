using PachPS.Engine;
using System.Globalization;

namespace PachPS.Infrastructure;

/// <summary>Formatting helpers used by PachPS.Format.ps1xml; objects keep raw numbers and times.</summary>
public static class Display
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB"];

    public static string Size(long bytes)
    {
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < Units.Length - 1) { value /= 1024; unit++; }
        return unit == 0 ? $"{bytes} B" : value.ToString(value < 10 ? "0.##" : value < 100 ? "0.#" : "0", CultureInfo.InvariantCulture) + " " + Units[unit];
    }

    public static string Ago(DateTimeOffset? time)
    {
        if (time is null) return "-";
        var span = DateTimeOffset.UtcNow - time.Value;
        if (span.TotalSeconds < 60) return $"{Math.Max(0, (int)span.TotalSeconds)} seconds ago";
        if (span.TotalMinutes < 60) return $"{(int)span.TotalMinutes} minutes ago";
        if (span.TotalHours < 24) return $"{(int)span.TotalHours} hours ago";
        return time.Value.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
    }

    public static string Duration(TimeSpan? span)
    {
        if (span is null) return "-";
        var s = span.Value.TotalSeconds;
        return s < 60 ? s.ToString("0.0", CultureInfo.InvariantCulture) + " s" : s < 3600 ? $"{(int)s / 60} min {(int)s % 60} s" : $"{(int)(s / 3600)} h {(int)s % 3600 / 60} min";
    }

    public static string Short(string? id) => string.IsNullOrEmpty(id) ? "" : Ids.Short(id);

    /// <summary>One side of a merge conflict: absent, a directory, or a file's short hash and size.</summary>
    public static string Side(Engine.Pfs.MergeSide? side) => side switch
    {
        null => "(absent)",
        { Type: Engine.Pfs.PachFileType.Directory } => $"dir {Size(side.Size)}",
        _ => $"{Short(side.Hash)} {Size(side.Size)}",
    };

    public static string Time(DateTimeOffset? time) =>
        time is null ? "-" : time.Value.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
