using PachPS.Engine.Metadata;
using LiteDB;

namespace PachPS.Engine.Pfs;

/// <summary>Tree nodes in the "nodes" collection of an open database (inside a Read or Write unit).</summary>
internal sealed class LiteNodeSource(LiteDatabase db) : INodeSource
{
    private readonly ILiteCollection<NodeDoc> _nodes = db.Nodes();

    public byte[]? Load(string id) => _nodes.Get(id)?.Data;

    /// <summary>Bytes of nodes this source added (nodes already stored cost nothing).</summary>
    public long BytesWritten { get; private set; }

    public void Save(string id, byte[] data)
    {
        if (_nodes.Get(id) is not null) return;
        _nodes.Insert(new NodeDoc { Id = id, Data = data });
        BytesWritten += data.Length;
    }
}
