using System.Buffers;
using System.Threading.Channels;
using PachPS.Engine.Storage;

namespace PachPS.Server;

/// <summary>
/// An upload's body read ahead: a task reads the request asynchronously in blocks of 1 MiB while the engine, on its
/// own thread, chunks and hashes the blocks already read. Reading (and TLS decryption) overlaps with ingest on the
/// other core, and the engine's many small reads come from memory instead of each waiting on Kestrel. At most
/// <see cref="Depth"/> blocks are held, so memory stays bounded whatever the upload's size.
/// </summary>
internal sealed class ReadAheadStream : ReadOnlyStream
{
    private const int BlockSize = 1 << 20;
    private const int Depth = 4;

    private readonly Channel<(byte[] Block, int Length, Exception? Failure)> _blocks =
        Channel.CreateBounded<(byte[], int, Exception?)>(new BoundedChannelOptions(Depth) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop;
    private byte[]? _current;
    private int _length;
    private int _offset;
    private bool _ended;

    public ReadAheadStream(Stream source, CancellationToken cancel)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        _ = Task.Run(() => Fill(source, _stop.Token));
    }

    private async Task Fill(Stream source, CancellationToken cancel)
    {
        try
        {
            while (true)
            {
                var block = ArrayPool<byte>.Shared.Rent(BlockSize);
                var n = await source.ReadAtLeastAsync(block.AsMemory(0, BlockSize), BlockSize, throwOnEndOfStream: false, cancel);
                await _blocks.Writer.WriteAsync((block, n, null), cancel);
                if (n < BlockSize) break;
            }
        }
        catch (Exception ex)
        {
            // The reader sees the failure where the body broke off (a client gone, a cancelled request).
            _blocks.Writer.TryWrite((Array.Empty<byte>(), 0, ex as IOException ?? new IOException(ex.Message, ex)));
        }
        finally { _blocks.Writer.TryComplete(); }
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0) return 0;
        while (_current is null || _offset == _length)
        {
            if (_ended) return 0;
            (byte[] Block, int Length, Exception? Failure) next;
            try { next = _blocks.Reader.ReadAsync().AsTask().GetAwaiter().GetResult(); }
            catch (ChannelClosedException) { _ended = true; return 0; }
            if (next.Failure is { } failure) throw failure;
            // A block read through goes back to the pool: an upload of any size reuses the same few.
            if (_current is not null) ArrayPool<byte>.Shared.Return(_current);
            (_current, _length, _offset) = (next.Block, next.Length, 0);
        }
        var n = Math.Min(buffer.Length, _length - _offset);
        _current.AsSpan(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stop.Cancel();
            _stop.Dispose();
        }
        base.Dispose(disposing);
    }
}
