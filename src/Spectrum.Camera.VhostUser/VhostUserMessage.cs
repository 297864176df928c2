using Spectrum.Camera.Native;

namespace Spectrum.Camera.VhostUser;

/// <summary>
/// One received front-end message: header fields, the payload bytes (copied out of the socket buffer) and the fds
/// that arrived with it. The message owns its fds; whatever the handler does not take is closed on dispose.
/// </summary>
public sealed class VhostUserMessage : IDisposable
{
    /// <summary>Header size on the wire: u32 request, u32 flags, u32 size.</summary>
    public const int HeaderSize = 12;

    /// <summary>Largest payload accepted (rust-vmm's MAX_MSG_SIZE; QEMU never sends more than 268 bytes).</summary>
    public const int MaxPayload = 4096;

    public const uint FlagVersionMask = 0x3;
    public const uint Version = 0x1;
    public const uint FlagReply = 0x4;
    public const uint FlagNeedReply = 0x8;

    private readonly List<FdHandle> _fds;

    internal VhostUserMessage(uint request, uint flags, byte[] payload, int payloadLength, List<FdHandle> fds)
    {
        Request = (VhostUserRequest)request;
        Flags = flags;
        Payload = payload.AsMemory(0, payloadLength);
        _fds = fds;
    }

    public VhostUserRequest Request { get; }

    public uint Flags { get; }

    public bool NeedsReply => (Flags & FlagNeedReply) != 0;

    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Number of fds still attached.</summary>
    public int FdCount => _fds.Count;

    /// <summary>Attached fd <paramref name="index"/>, still owned by the message.</summary>
    public FdHandle PeekFd(int index) => _fds[index];

    /// <summary>Takes ownership of attached fd <paramref name="index"/>.</summary>
    public FdHandle TakeFd(int index)
    {
        var fd = _fds[index];
        _fds[index] = new FdHandle(-1);
        return fd;
    }

    public void Dispose()
    {
        foreach (var fd in _fds)
        {
            fd.Dispose();
        }

        _fds.Clear();
    }
}
