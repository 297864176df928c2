using System.Buffers.Binary;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.VhostUser;

/// <summary>
/// Assembles front-end messages from a non-blocking socket without ever blocking the device loop: reads exactly the
/// 12-byte header, validates it, then exactly the payload (never across a message boundary, so fds stay with their
/// message). A partial message simply waits for more bytes. Framing errors are fatal for the connection because the
/// byte stream cannot be resynchronised.
/// </summary>
public sealed class VhostUserMessageReader : IDisposable
{
    private readonly UnixSocket _socket;
    private readonly byte[] _header = new byte[VhostUserMessage.HeaderSize];
    private readonly byte[] _payload = new byte[VhostUserMessage.MaxPayload];
    private List<FdHandle> _fds = [];
    private int _headerFilled;
    private int _payloadFilled;
    private int _payloadSize = -1;

    public VhostUserMessageReader(UnixSocket socket) => _socket = socket;

    /// <summary>
    /// Reads what is available. Returns a complete message, or null when more bytes are needed (<paramref name="state"/>
    /// = NeedMore), the peer closed the connection (EndOfStream) or the stream is malformed (Malformed, with
    /// <paramref name="error"/> saying why).
    /// </summary>
    public VhostUserMessage? TryRead(out ReadState state, out string? error)
    {
        error = null;
        while (true)
        {
            if (_payloadSize < 0)
            {
                var n = _socket.Receive(_header.AsSpan(_headerFilled), _fds, nonBlocking: true, out var truncated);
                if (truncated)
                {
                    return Malformed("more fds than the backend accepts arrived with one message (MSG_CTRUNC)", out state, out error);
                }

                if (n < 0)
                {
                    state = ReadState.NeedMore;
                    return null;
                }

                if (n == 0)
                {
                    if (_headerFilled > 0)
                    {
                        return Malformed($"connection closed after {_headerFilled} of 12 header bytes", out state, out error);
                    }

                    DropFds();
                    state = ReadState.EndOfStream;
                    return null;
                }

                _headerFilled += n;
                if (_headerFilled < VhostUserMessage.HeaderSize)
                {
                    continue;
                }

                var flags = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(4));
                var size = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(8));
                if ((flags & VhostUserMessage.FlagVersionMask) != VhostUserMessage.Version)
                {
                    return Malformed($"header flags 0x{flags:x}: version is not 1", out state, out error);
                }

                if ((flags & VhostUserMessage.FlagReply) != 0 || (flags & ~0xFu) != 0)
                {
                    return Malformed($"header flags 0x{flags:x} has REPLY or reserved bits set", out state, out error);
                }

                if (size > VhostUserMessage.MaxPayload)
                {
                    return Malformed($"payload size {size} exceeds the {VhostUserMessage.MaxPayload}-byte limit", out state, out error);
                }

                _payloadSize = (int)size;
                _payloadFilled = 0;
            }

            if (_payloadFilled < _payloadSize)
            {
                var n = _socket.Receive(_payload.AsSpan(_payloadFilled, _payloadSize - _payloadFilled), _fds, nonBlocking: true, out var truncated);
                if (truncated)
                {
                    return Malformed("more fds than the backend accepts arrived with one message (MSG_CTRUNC)", out state, out error);
                }

                if (n < 0)
                {
                    state = ReadState.NeedMore;
                    return null;
                }

                if (n == 0)
                {
                    return Malformed($"connection closed mid-payload ({_payloadFilled} of {_payloadSize} bytes)", out state, out error);
                }

                _payloadFilled += n;
                continue;
            }

            var request = BinaryPrimitives.ReadUInt32LittleEndian(_header);
            var message = new VhostUserMessage(request, BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(4)),
                _payload.AsSpan(0, _payloadSize).ToArray(), _payloadSize, _fds);
            _fds = [];
            _headerFilled = 0;
            _payloadSize = -1;
            state = ReadState.Message;
            return message;
        }
    }

    /// <summary>Closes the fds of a partly received message.</summary>
    public void Dispose() => DropFds();

    private VhostUserMessage? Malformed(string reason, out ReadState state, out string? error)
    {
        DropFds();
        state = ReadState.Malformed;
        error = reason;
        return null;
    }

    private void DropFds()
    {
        foreach (var fd in _fds)
        {
            fd.Dispose();
        }

        _fds.Clear();
    }

    /// <summary>What <see cref="TryRead"/> found.</summary>
    public enum ReadState
    {
        Message,
        NeedMore,
        EndOfStream,
        Malformed,
    }
}
