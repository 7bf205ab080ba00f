namespace PachPS.Engine;

/// <summary>How PachPS names commits, jobs and datums, and how it shortens those names for people.</summary>
public static class Ids
{
    /// <summary>Characters of an id shown in messages and tables (as pachctl shows them).</summary>
    public const int ShortLength = 16;

    /// <summary>Characters of a full commit or job id (a GUID without dashes).</summary>
    public const int FullLength = 32;

    /// <summary>The fewest characters accepted as a commit id prefix.</summary>
    public const int MinPrefixLength = 4;

    /// <summary>A new commit or job id: 32 lower-case hex digits.</summary>
    public static string New() => Guid.NewGuid().ToString("N");

    /// <summary>The first <see cref="ShortLength"/> characters of an id (all of a shorter one).</summary>
    public static string Short(string id) => id.Length <= ShortLength ? id : id[..ShortLength];
}
