using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Transport;

/// <summary>
/// The answer to one command, built in a reusable buffer before anything reaches guest memory: a response header and
/// at most one payload (a structure, or an ext-controls structure with its controls). It never grows past the chain's writable part, so the used length the transport
/// publishes is exactly what was written there (virtio 1.x §2.7.8: a device writes at least the used length, and a
/// driver trusts no more). A command whose answer does not fit gets nothing (used length 0).
/// </summary>
public sealed class CommandResponse
{
    /// <summary>
    /// The largest payload any answer carries: struct v4l2_create_buffers is 256 bytes, an ext-controls answer its
    /// 32-byte header and 20 bytes a control (the output device answers at most 32 controls: 672 bytes).
    /// </summary>
    public const int MaxPayload = 1024;

    /// <summary>
    /// The most payload a refusal writes back (<see cref="AnswerEcho"/>): v4l2_ext_controls (32 bytes) and 1,024
    /// controls of 20 bytes, V4L2's own limit for one call (V4L2_CID_MAX_CTRLS).
    /// </summary>
    public const int MaxEcho = 32 + (1024 * 20);

    private static readonly int HeaderSize = WireStruct.SizeOf<VirtioMediaResponseHeader>();

    private readonly byte[] _buffer = new byte[HeaderSize + Math.Max(MaxPayload, MaxEcho)];

    /// <summary>Room for the answer: the chain's writable length.</summary>
    public uint Capacity { get; private set; }

    /// <summary>Bytes of the answer, 0 when there is none (CLOSE, or no room for even the header).</summary>
    public int Length { get; private set; }

    public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, Length);

    /// <summary>The status of the answer (its header), or null while there is no answer.</summary>
    public Errno? Status => Length == 0 ? null : (Errno)WireStruct.Read<VirtioMediaResponseHeader>(_buffer).Status;

    /// <summary>True when the handler put its answer off (<see cref="Defer"/>): the chain stays in flight.</summary>
    public bool IsDeferred { get; private set; }

    /// <summary>The ticket a deferred answer will be given under (set by the transport before the handler runs).</summary>
    internal ulong Ticket { get; set; }

    /// <summary>Starts the answer to a command whose chain has <paramref name="capacity"/> writable bytes.</summary>
    public void Begin(uint capacity)
    {
        Capacity = capacity;
        Length = 0;
        IsDeferred = false;
    }

    /// <summary>
    /// Puts the answer off: the command's chain stays in flight and the handler answers it later through
    /// <see cref="VirtqueueTransport.Finish(CommandTicket, Uapi.Errno)"/> with the ticket returned here (a command that
    /// waits on the VMM, such as MMAP waiting for its mapping to be acknowledged).
    /// </summary>
    public CommandTicket Defer()
    {
        Length = 0;
        IsDeferred = true;
        return new CommandTicket(Ticket);
    }

    /// <summary>True when the header and <paramref name="payloadSize"/> bytes of payload fit the writable part.</summary>
    public bool HasRoomFor(int payloadSize) => Capacity >= (uint)(HeaderSize + payloadSize);

    /// <summary>Answers with the header alone (an error, or success without payload); nothing if it does not fit.</summary>
    public void Answer(Errno status)
    {
        Length = 0;
        if (HasRoomFor(0))
        {
            WireStruct.Write(_buffer, new VirtioMediaResponseHeader { Status = (uint)status });
            Length = HeaderSize;
        }
    }

    /// <summary>
    /// Answers <paramref name="status"/> followed by as much of <paramref name="payload"/> (the driver's own payload) as
    /// the writable part holds after the header: the whole payload of a WR ioctl comes back unchanged, an _IOW ioctl's
    /// answer stays the header alone. Beyond <see cref="MaxEcho"/> bytes only the header goes back.
    /// </summary>
    public void AnswerEcho(Errno status, ReadOnlySpan<byte> payload)
    {
        Answer(status);
        if (Length == 0)
        {
            return;
        }

        var room = (int)Math.Min(Capacity - (uint)HeaderSize, int.MaxValue);
        var echo = Math.Min(room, payload.Length);
        if (echo > 0 && echo <= MaxEcho)
        {
            payload[..echo].CopyTo(_buffer.AsSpan(HeaderSize));
            Length = HeaderSize + echo;
        }
    }

    /// <summary>Answers success with <paramref name="payload"/> after the header; nothing if it does not fit.</summary>
    public void Answer<T>(in T payload)
        where T : unmanaged
    {
        Length = 0;
        var size = WireStruct.SizeOf<T>();
        if (size <= MaxPayload && HasRoomFor(size))
        {
            WireStruct.Write(_buffer, new VirtioMediaResponseHeader { Status = (uint)Errno.None });
            WireStruct.Write(_buffer.AsSpan(HeaderSize), in payload);
            Length = HeaderSize + size;
        }
    }

    /// <summary>
    /// Answers with <paramref name="status"/> and <paramref name="payload"/> after the header, which an ext-controls
    /// answer carries even with an error (its error_idx says which control failed); nothing if it does not fit.
    /// </summary>
    public void Answer(Errno status, ReadOnlySpan<byte> payload)
    {
        Length = 0;
        if (payload.Length <= MaxPayload && HasRoomFor(payload.Length))
        {
            WireStruct.Write(_buffer, new VirtioMediaResponseHeader { Status = (uint)status });
            payload.CopyTo(_buffer.AsSpan(HeaderSize));
            Length = HeaderSize + payload.Length;
        }
    }

    /// <summary>Answers with <paramref name="response"/>, a whole response structure that starts with its header (OPEN).</summary>
    public void AnswerWhole<T>(in T response)
        where T : unmanaged
    {
        Length = 0;
        var size = WireStruct.SizeOf<T>();
        if (size <= _buffer.Length && Capacity >= (uint)size)
        {
            WireStruct.Write(_buffer, in response);
            Length = size;
        }
    }

    /// <summary>Answers with bytes an earlier answer produced (a deferred answer kept while the queue was stopped).</summary>
    internal void AnswerBytes(ReadOnlySpan<byte> answer)
    {
        Length = 0;
        if (answer.Length <= _buffer.Length && Capacity >= (uint)answer.Length)
        {
            answer.CopyTo(_buffer);
            Length = answer.Length;
        }
    }

    /// <summary>Answers a command that has no response part (CLOSE): used length 0.</summary>
    public void None() => Length = 0;
}
