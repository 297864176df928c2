using Google.Protobuf;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Protocol;

/// <summary>What <see cref="MessageChannel{TIn,TOut}.TryReceive"/> found.</summary>
public enum ReceiveStatus
{
    /// <summary>A message was parsed.</summary>
    Message,

    /// <summary>No packet is queued; wait for the socket to become readable.</summary>
    Empty,

    /// <summary>The peer closed the connection.</summary>
    Closed,
}

/// <summary>
/// Protobuf messages over a nonblocking AF_UNIX SOCK_SEQPACKET socket: one message per packet, so message boundaries
/// come from the kernel and fds (SCM_RIGHTS) arrive with the packet they belong to. Neither direction ever blocks:
/// the camera service must not stall on a slow or hostile sidecar, and a sidecar's device loop must not stall on the
/// service. Oversized or unparsable packets and fds beyond what the caller allows are protocol errors.
/// </summary>
public sealed class MessageChannel<TIn, TOut> : IDisposable
    where TIn : IMessage<TIn>, new()
    where TOut : IMessage<TOut>
{
    private static readonly MessageParser<TIn> Parser = new(() => new TIn());
    private readonly byte[] _receiveBuffer;
    private readonly byte[] _sendBuffer;
    private readonly List<FdHandle> _receivedFds = [];

    public MessageChannel(UnixSocket socket, int maxPacketBytes)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPacketBytes, 64);
        Socket = socket;
        MaxPacketBytes = maxPacketBytes;
        // One byte more than allowed, so an oversized packet is seen as such (MSG_TRUNC also reports it).
        _receiveBuffer = new byte[maxPacketBytes + 1];
        _sendBuffer = new byte[maxPacketBytes];
    }

    public UnixSocket Socket { get; }

    public int Fd => Socket.Fd;

    public int MaxPacketBytes { get; }

    /// <summary>Messages received so far (for logs and tests).</summary>
    public long Received { get; private set; }

    /// <summary>
    /// Receives the next queued message. Fds that came with it are moved into <paramref name="fds"/> (owned by the
    /// caller), at most <paramref name="maxFds"/>; more is a protocol error and every received fd is closed.
    /// </summary>
    public ReceiveStatus TryReceive(out TIn? message, List<FdHandle> fds, int maxFds = 0)
    {
        ArgumentNullException.ThrowIfNull(fds);
        message = default;
        _receivedFds.Clear();
        int n;
        bool truncated;
        try
        {
            n = Socket.ReceivePacket(_receiveBuffer, _receivedFds, out truncated);
        }
        catch (NativeException e) when (e.IsPeerGone)
        {
            CloseReceivedFds();
            return ReceiveStatus.Closed;
        }

        if (n < 0)
        {
            return ReceiveStatus.Empty;
        }

        if (n == 0 && _receivedFds.Count == 0)
        {
            return ReceiveStatus.Closed;
        }

        if (truncated || n > MaxPacketBytes)
        {
            CloseReceivedFds();
            throw new ProtocolException($"packet larger than {MaxPacketBytes} bytes or with too many fds");
        }

        if (_receivedFds.Count > maxFds)
        {
            var count = _receivedFds.Count;
            CloseReceivedFds();
            throw new ProtocolException($"packet carried {count} fds, at most {maxFds} expected here");
        }

        try
        {
            message = Parser.ParseFrom(_receiveBuffer.AsSpan(0, n));
        }
        catch (InvalidProtocolBufferException e)
        {
            CloseReceivedFds();
            throw new ProtocolException($"unparsable {typeof(TIn).Name} ({n} bytes): {e.Message}", e);
        }

        fds.AddRange(_receivedFds);
        _receivedFds.Clear();
        Received++;
        return ReceiveStatus.Message;
    }

    /// <summary>
    /// Sends <paramref name="message"/> without blocking. False when the peer's queue is full; the caller drops the
    /// message (frame notices) or gives up on the peer (anything that must arrive). Throws
    /// <see cref="NativeException"/> when the peer is gone.
    /// </summary>
    public bool TrySend(TOut message, ReadOnlySpan<int> fds = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var size = message.CalculateSize();
        if (size > MaxPacketBytes)
        {
            throw new ArgumentException($"{typeof(TOut).Name} of {size} bytes exceeds the {MaxPacketBytes}-byte packet limit", nameof(message));
        }

        var span = _sendBuffer.AsSpan(0, size);
        message.WriteTo(span);
        return Socket.TrySendPacket(span, fds);
    }

    public void Dispose()
    {
        CloseReceivedFds();
        Socket.Dispose();
    }

    private void CloseReceivedFds()
    {
        foreach (var fd in _receivedFds)
        {
            fd.Dispose();
        }

        _receivedFds.Clear();
    }
}
