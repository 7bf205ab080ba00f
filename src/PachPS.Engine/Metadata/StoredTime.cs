namespace PachPS.Engine.Metadata;

/// <summary>Times as stored: written in UTC, read back by LiteDB as local times; this turns them into UTC offsets again.</summary>
internal static class StoredTime
{
    public static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value.ToUniversalTime(), DateTimeKind.Utc));
}
