using System.Buffers.Binary;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// Plays the guest's virtio-media driver on top of <see cref="TestVmm"/>: posts eventq buffers, sends OPEN, CLOSE and
/// IOCTL chains on the commandq (one at a time, like the Linux driver) and collects events. Requests are encoded by
/// <see cref="MediaRequests"/>.
/// </summary>
public sealed class MediaGuestDriver
{
    /// <summary>Bytes of an eventq buffer: the largest event, EVT_DQBUF.</summary>
    public static readonly int EventBufferSize = MediaRequests.SizeOf<VirtioMediaDqbufEvent>();

    private static readonly int ResponseHeaderSize = MediaRequests.SizeOf<VirtioMediaResponseHeader>();

    private const int RequestArea = 512 * 1024;
    private const int ResponseArea = 64 * 1024;

    private readonly TestVmm _vmm;
    private readonly Dictionary<ushort, ulong> _eventBuffers = [];
    private readonly ulong _requestGpa;
    private readonly ulong _responseGpa;

    public MediaGuestDriver(TestVmm vmm)
    {
        ArgumentNullException.ThrowIfNull(vmm);
        _vmm = vmm;
        _requestGpa = vmm.Ram.Allocate(RequestArea, 4096);
        _responseGpa = vmm.Ram.Allocate(ResponseArea, 4096);
    }

    public GuestVirtqueue CommandQueue => _vmm.Queues[0];

    public GuestVirtqueue EventQueue => _vmm.Queues[1];

    public GuestRam Ram => _vmm.Ram;

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Re-enables interrupts for both queues (used_event = what was consumed), as the Linux driver does before it
    /// sleeps; with EVENT_IDX only the first completion would interrupt a driver that did not.
    /// </summary>
    public void ArmInterrupts()
    {
        CommandQueue.SetUsedEvent(CommandQueue.UsedIndex);
        EventQueue.SetUsedEvent(EventQueue.UsedIndex);
    }

    /// <summary>Posts <paramref name="count"/> 608-byte eventq buffers (the Linux driver posts 16 before DRIVER_OK).</summary>
    public void PostEventBuffers(int count = 16, bool kick = true)
    {
        for (var i = 0; i < count; i++)
        {
            var gpa = _vmm.Ram.Allocate((ulong)EventBufferSize, 64);
            var head = EventQueue.AddChain([], [(gpa, (uint)EventBufferSize)]);
            _eventBuffers[head] = gpa;
        }

        if (kick)
        {
            EventQueue.Notify();
        }
    }

    /// <summary>
    /// Sends one command chain: <paramref name="request"/> as the readable part (split in <paramref name="readableSplit"/>
    /// pieces to exercise byte-stream handling) and <paramref name="responseCapacity"/> writable bytes. Returns what the
    /// device wrote (its used length).
    /// </summary>
    public byte[] Send(ReadOnlySpan<byte> request, int responseCapacity, int readableSplit = 1)
    {
        if (request.Length > RequestArea || responseCapacity > ResponseArea)
        {
            throw new ArgumentException("command too large for the test driver's areas");
        }

        request.CopyTo(_vmm.Ram.Span(_requestGpa, request.Length));
        var readable = new List<(ulong, uint)>();
        var piece = Math.Max(1, request.Length / Math.Max(1, readableSplit));
        for (var offset = 0; offset < request.Length; offset += piece)
        {
            readable.Add((_requestGpa + (ulong)offset, (uint)Math.Min(piece, request.Length - offset)));
        }

        var writable = responseCapacity > 0 ? new List<(ulong, uint)> { (_responseGpa, (uint)responseCapacity) } : [];
        _vmm.Ram.Span(_responseGpa, Math.Max(responseCapacity, 1)).Fill(0xEE);
        var head = CommandQueue.AddChain(readable, writable);
        CommandQueue.Notify();
        var (usedHead, length) = CommandQueue.WaitUsed(Timeout);
        if (usedHead != head)
        {
            throw new InvalidDataException($"device completed head {usedHead}, expected {head}");
        }

        return _vmm.Ram.Span(_responseGpa, (int)length).ToArray();
    }

    /// <summary>CMD_OPEN; returns (status, session id).</summary>
    public (uint Status, uint Session) Open()
    {
        var r = Send(MediaRequests.Open(), MediaRequests.SizeOf<VirtioMediaOpenResponse>());
        return WireStruct.TryRead(r, out VirtioMediaOpenResponse open)
            ? (open.Header.Status, open.SessionId)
            : (MediaRequests.Read<VirtioMediaResponseHeader>(r).Status, 0);
    }

    public uint OpenSession()
    {
        var (status, session) = Open();
        return status == 0 ? session : throw new InvalidOperationException($"OPEN failed with errno {status}");
    }

    /// <summary>
    /// CMD_MMAP as the Linux driver's mmap() sends it (a 24-byte response); returns (status, offset into region 0,
    /// length), the last two 0 unless the status is.
    /// </summary>
    public (uint Status, ulong DriverAddress, ulong Length) Mmap(uint session, uint offset, bool writable = true)
    {
        var r = Send(MediaRequests.Mmap(session, offset, writable), MediaRequests.SizeOf<VirtioMediaMmapResponse>());
        if (WireStruct.TryRead(r, out VirtioMediaMmapResponse answer))
        {
            return (answer.Header.Status, answer.DriverAddress, answer.Length);
        }

        return (MediaRequests.Read<VirtioMediaResponseHeader>(r).Status, 0, 0);
    }

    /// <summary>CMD_MUNMAP as the driver's VMA close sends it; returns the status.</summary>
    public uint Munmap(ulong driverAddress) =>
        MediaRequests.Read<VirtioMediaResponseHeader>(Send(MediaRequests.Munmap(driverAddress), ResponseHeaderSize)).Status;

    /// <summary>CMD_CLOSE (no response part). Returns the used length (must be 0).</summary>
    public int Close(uint session) => Send(MediaRequests.Close(session), 0).Length;

    /// <summary>
    /// CMD_IOCTL with <paramref name="payload"/> (plus <paramref name="extra"/> readable bytes such as SG entries) and room
    /// for the header plus <paramref name="responsePayload"/> bytes. Returns (status, payload written).
    /// </summary>
    public (uint Status, byte[] Payload) Ioctl(uint session, V4l2IoctlNumber code, ReadOnlySpan<byte> payload, int responsePayload, ReadOnlySpan<byte> extra = default, int readableSplit = 1)
    {
        var r = Send(MediaRequests.Ioctl(session, code, payload, extra), ResponseHeaderSize + responsePayload, readableSplit);
        if (r.Length < ResponseHeaderSize)
        {
            throw new InvalidDataException($"ioctl {code.Name()} response of {r.Length} bytes");
        }

        return (MediaRequests.Read<VirtioMediaResponseHeader>(r).Status, r.AsSpan(ResponseHeaderSize).ToArray());
    }

    /// <summary>Takes the next event from the eventq (re-posting its buffer), or null if none arrives in time.</summary>
    public byte[]? WaitEvent(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (EventQueue.TryTakeUsed(out var head, out var length))
            {
                var gpa = _eventBuffers[head];
                var e = _vmm.Ram.Span(gpa, (int)length).ToArray();
                _eventBuffers.Remove(head);
                var again = EventQueue.AddChain([], [(gpa, (uint)EventBufferSize)]);
                _eventBuffers[again] = gpa;
                EventQueue.Notify();
                return e;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            EventQueue.WaitForCall(left < TimeSpan.FromMilliseconds(50) ? left : TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>Re-adopts posted eventq buffers after a VM stop/cont (same rings).</summary>
    public int PostedEventBuffers => _eventBuffers.Count;

    public static uint U32(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]);

    public static ulong U64(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(s[offset..]);
}
