using LiteDB;

namespace PachPS.Engine.Metadata;

/// <summary>
/// A document by its id, without LiteDB 5's cost of parsing <c>"_id = @0"</c> again on every FindById: the predicate is
/// parsed once per thread and only its parameter changes (20,000 lookups of new chunk hashes: 0.9 s against 2.0 s).
/// </summary>
internal static class IdLookup
{
    [ThreadStatic] private static BsonExpression? _byId;

    /// <summary>The document whose id is <paramref name="id"/>, or null: what FindById returns, typed as it is.</summary>
    public static T Get<T>(this ILiteCollection<T> collection, BsonValue id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.IsNull) throw new ArgumentNullException(nameof(id));
        var predicate = _byId ??= BsonExpression.Create("_id = @0");
        // The query reads the parameter while it runs: FindOne has finished with it before this thread sets it again.
        predicate.Parameters["0"] = id;
        return collection.FindOne(predicate);
    }
}
