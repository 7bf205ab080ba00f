namespace PachPS.Engine.Metadata;

internal sealed class SchemaDoc
{
    [LiteDB.BsonId] public string Id { get; set; } = "schema";
    public int Version { get; set; }
}
