using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// Shared-memory region 0 as the device manages it: the device-owned buffers (<see cref="MmapBuffer"/>), the ranges of
/// the window they are mapped at, and the requests that make the VMM map and unmap them (<see cref="ISharedMemoryMapper"/>).
/// </summary>
/// <remarks>
/// <para>
/// Bounds: buffers of at most <see cref="RegionSize"/> bytes live at once (orphans included), at most
/// <see cref="MaxMappings"/> window mappings exist and at most <see cref="MaxPendingMaps"/> wait for the VMM's ack.
/// </para>
/// <para>
/// A CMD_MMAP is answered when the VMM has acknowledged the mapping (the answer is deferred, never waited for on the
/// loop); a CMD_MUNMAP at once, its range reused only after the VMM acknowledged the unmap. A range whose fate the VMM
/// left unknown (its channel broke mid-request) is never reused. Requests go out only while the queues run: the unmaps a
/// reset starts wait for the next start (vhost-user spec, "Suspended device state").
/// </para>
/// <para>
/// Lifetimes: a mapping lasts until its MUNMAP even when the queue lets its buffer go (REQBUFS: virtio 1.4 §5.22
/// requires it, and REQBUFS reports V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS). CLOSE unmaps the session's mappings (a Linux
/// driver closes a session only after its last mapping went), a reset unmaps everything, and a lost window (the
/// connection or its backend channel ended) forgets everything: the VMM drops its side itself.
/// </para>
/// </remarks>
internal sealed class SharedMemoryWindow : IDisposable
{
    /// <summary>Window mappings at once (each CMD_MMAP makes one, even of a buffer mapped before).</summary>
    public const int MaxMappings = 1024;

    /// <summary>Maps waiting for the VMM's ack at once; a Linux driver sends one command at a time.</summary>
    public const int MaxPendingMaps = 16;

    /// <summary>
    /// Unmaps waiting for the VMM's ack at once; more wait in a backlog (bounded by the mappings) and go out as acks come
    /// back, so maps and unmaps together never exceed what the channel lets wait (<see cref="BackendChannel.MaxPending"/>).
    /// </summary>
    public const int MaxPendingUnmaps = 32;

    /// <summary>Allocation unit of the window and of buffer memfds: 64 KiB, a page for any guest (arm64 64K pages included).</summary>
    public const ulong Granule = 64 * 1024;

    private const string Component = "virtio-media";

    private readonly VirtqueueTransport _transport;
    private readonly WindowAllocator _allocator;
    private readonly Dictionary<ulong, WindowMapping> _mappings = [];
    private readonly HashSet<MmapBuffer> _buffers = [];
    private readonly List<WindowMapping> _unmapBacklog = [];
    private ISharedMemoryMapper? _mapper;
    private ulong _nextSerial = 1;
    private int _pendingMaps;
    private int _pendingUnmaps;
    private bool _running;

    public SharedMemoryWindow(ulong regionSize, VirtqueueTransport transport)
    {
        RegionSize = regionSize;
        _transport = transport;
        _allocator = new WindowAllocator(regionSize, Granule);
    }

    /// <summary>Bytes of region 0 offered to the VMM (0: no window, QEMU 10.0's device).</summary>
    public ulong RegionSize { get; }

    /// <summary>True once the VMM negotiated the window and handed over a channel (even if that channel broke since).</summary>
    public bool IsAttached => _mapper is not null;

    /// <summary>True while MMAP buffers can be allocated and mapped: the VMM negotiated the window and its channel works.</summary>
    public bool IsUsable => _mapper is { IsUsable: true };

    /// <summary>Bytes of live device-owned buffers (orphans included).</summary>
    public ulong BufferBytes { get; private set; }

    public int BufferCount => _buffers.Count;

    public int MappingCount => _mappings.Count;

    /// <summary>Window bytes neither free nor mapped: ranges whose fate the VMM left unknown.</summary>
    public ulong LostBytes { get; private set; }

    /// <summary>Offsets and lengths of the mappings the VMM has acknowledged, for tests.</summary>
    public IEnumerable<(ulong Offset, ulong Length, uint Session)> Mapped =>
        _mappings.Values.Where(m => m.State == MappingState.Mapped).Select(m => (m.Offset, m.Length, m.Session));

    /// <summary>The VMM can map through <paramref name="mapper"/> now, or (null) no longer can.</summary>
    public void Attach(ISharedMemoryMapper? mapper)
    {
        if (ReferenceEquals(mapper, _mapper))
        {
            return;
        }

        if (mapper is not null)
        {
            Log.Info(Component, $"shared-memory window of {RegionSize >> 20} MiB ready: MMAP buffers can be mapped");
            _mapper = mapper;
            return;
        }

        _mapper = null;
        if (_mappings.Count > 0)
        {
            Log.Info(Component, $"shared-memory window gone: forgetting {_mappings.Count} mappings (the VMM drops its side)");
        }

        foreach (var m in _mappings.Values.ToArray())
        {
            if (m.State == MappingState.Mapping)
            {
                _transport.Finish(m.Ticket, Errno.EIO);
            }

            Forget(m, freeRange: false);
        }

        _unmapBacklog.Clear();
        _pendingMaps = 0;
        _pendingUnmaps = 0;
        _allocator.Clear();
        LostBytes = 0;
    }

    /// <summary>The queues run (requests may go out) or stopped (nothing is sent until they run again).</summary>
    public void QueuesRunning(bool running)
    {
        _running = running;
        SendBacklog();
    }

    /// <summary>
    /// A new zero-filled buffer of <paramref name="length"/> bytes for <paramref name="session"/>, or null when the
    /// buffers would outgrow the window or the kernel refuses.
    /// </summary>
    public MmapBuffer? TryCreateBuffer(uint session, uint length)
    {
        var mappedLength = ((ulong)length + Granule - 1) & ~(Granule - 1);
        if (length == 0 || mappedLength > RegionSize - Math.Min(RegionSize, BufferBytes))
        {
            return null;
        }

        var buffer = MmapBuffer.TryCreate(_nextSerial++, session, length, Granule, out var problem);
        if (buffer is null)
        {
            Log.Warning(Component, $"cannot allocate a {length}-byte MMAP buffer: {problem}");
            return null;
        }

        _buffers.Add(buffer);
        BufferBytes += buffer.MappedLength;
        return buffer;
    }

    /// <summary>The queue let <paramref name="buffer"/> go: it is freed now, or when its last mapping goes.</summary>
    public void Release(MmapBuffer buffer)
    {
        buffer.Released = true;
        FreeIfUnused(buffer);
    }

    /// <summary>
    /// CMD_MMAP of <paramref name="buffer"/> (resolved and checked by the caller): reserves a window range and asks the
    /// VMM to map the buffer there; the answer is deferred until the VMM acknowledges.
    /// </summary>
    public void Map(uint session, MmapBuffer buffer, bool writable, CommandResponse response)
    {
        if (_mapper is null)
        {
            response.Answer(Errno.ENOTTY);
            return;
        }

        if (!_mapper.IsUsable)
        {
            Log.GuestFault(Component, "mmap-refused", "MMAP refused: the VMM's backend channel is gone");
            response.Answer(Errno.EIO);
            return;
        }

        if (_mappings.Count >= MaxMappings || _pendingMaps >= MaxPendingMaps)
        {
            Log.GuestFault(Component, "mmap-refused", $"MMAP refused: {_mappings.Count} mappings, {_pendingMaps} waiting for the VMM");
            response.Answer(_pendingMaps >= MaxPendingMaps ? Errno.EAGAIN : Errno.ENOMEM);
            return;
        }

        if (!_allocator.TryAllocate(buffer.MappedLength, out var offset))
        {
            Log.GuestFault(Component, "window-full",
                $"MMAP of a {buffer.MappedLength}-byte buffer refused: {_allocator.FreeBytes} of {RegionSize} window bytes free, none in one piece");
            response.Answer(Errno.ENOMEM);
            return;
        }

        var mapping = new WindowMapping(offset, buffer.MappedLength, buffer, session, response.Defer());
        _mappings.Add(offset, mapping);
        buffer.WindowMappings++;
        _pendingMaps++;
        _mapper.Map(buffer.Fd, offset, buffer.MappedLength, writable, outcome => OnMapped(mapping, outcome));
    }

    /// <summary>CMD_MUNMAP: answered at once; the range is reused once the VMM acknowledged the unmap.</summary>
    public void Unmap(ulong driverAddress, CommandResponse response)
    {
        if (!_mappings.TryGetValue(driverAddress, out var m) || m.State != MappingState.Mapped)
        {
            Log.GuestFault(Component, "bad-munmap", $"MUNMAP of 0x{driverAddress:x}: nothing is mapped there");
            response.Answer(Errno.EINVAL);
            return;
        }

        response.Answer(Errno.None);
        StartUnmap(m);
    }

    /// <summary>CLOSE: the session's mappings are unmapped (a driver closes only after its last mapping went).</summary>
    public void CloseSession(uint session)
    {
        foreach (var m in _mappings.Values.ToArray())
        {
            if (m.Session == session)
            {
                Withdraw(m);
            }
        }
    }

    /// <summary>A new driver instance: every mapping is unmapped (when the queues run again).</summary>
    public void Reset()
    {
        foreach (var m in _mappings.Values.ToArray())
        {
            Withdraw(m);
        }
    }

    public void Dispose()
    {
        foreach (var b in _buffers)
        {
            b.Dispose();
        }

        _buffers.Clear();
        _mappings.Clear();
        BufferBytes = 0;
    }

    private void OnMapped(WindowMapping m, MappingOutcome outcome)
    {
        _pendingMaps = Math.Max(0, _pendingMaps - 1);
        if (!_mappings.TryGetValue(m.Offset, out var current) || current != m)
        {
            return; // forgotten meanwhile (the window went away)
        }

        SendBacklog();

        switch (outcome)
        {
            case MappingOutcome.Done when m.Cancelled:
                // Its session closed or the device reset while the VMM mapped it: nobody may use it.
                m.State = MappingState.Mapped;
                _transport.Finish(m.Ticket, Errno.EINVAL);
                StartUnmap(m);
                break;
            case MappingOutcome.Done:
                m.State = MappingState.Mapped;
                Log.Debug(Component, $"session {m.Session}: buffer {m.Buffer.Serial} mapped at 0x{m.Offset:x} (+0x{m.Length:x})");
                _transport.Finish(m.Ticket, new VirtioMediaMmapResponse { DriverAddress = m.Offset, Length = m.Buffer.Length });
                break;
            case MappingOutcome.Refused or MappingOutcome.NotSent:
                Log.Warning(Component, $"the VMM {(outcome == MappingOutcome.Refused ? "refused" : "was not asked")} to map a buffer " +
                    $"at 0x{m.Offset:x} (+0x{m.Length:x}); MMAP answered EIO");
                Forget(m, freeRange: true);
                _transport.Finish(m.Ticket, Errno.EIO);
                break;
            default:
                Forget(m, freeRange: false);
                _transport.Finish(m.Ticket, Errno.EIO);
                break;
        }
    }

    /// <summary>Takes a mapping away from the guest: unmapped now if mapped, or as soon as its map is acknowledged.</summary>
    private void Withdraw(WindowMapping m)
    {
        if (m.State == MappingState.Mapping)
        {
            m.Cancelled = true;
        }
        else if (m.State == MappingState.Mapped)
        {
            StartUnmap(m);
        }
    }

    private void StartUnmap(WindowMapping m)
    {
        m.State = MappingState.Unmapping;
        if (_mapper is not { IsUsable: true })
        {
            // Nobody to ask: the range stays reserved, the buffer is no longer ours to keep.
            Forget(m, freeRange: false);
        }
        else
        {
            _unmapBacklog.Add(m);
            SendBacklog();
        }
    }

    /// <summary>Sends waiting unmaps while the queues run and fewer than <see cref="MaxPendingUnmaps"/> wait for acks.</summary>
    private void SendBacklog()
    {
        var sent = 0;
        while (_running && _pendingUnmaps < MaxPendingUnmaps && sent < _unmapBacklog.Count && _mapper is { IsUsable: true })
        {
            var m = _unmapBacklog[sent++];
            if (m.State == MappingState.Unmapping && _mappings.TryGetValue(m.Offset, out var current) && current == m)
            {
                SendUnmap(m);
            }
        }

        _unmapBacklog.RemoveRange(0, sent);
    }

    /// <summary>
    /// Asks the VMM to unmap; the range is free again once it answered (a refusal means it maps nothing there). An unmap
    /// that was never sent or never answered leaves the range reserved: the VMM may still map the buffer there.
    /// </summary>
    private void SendUnmap(WindowMapping m)
    {
        _pendingUnmaps++;
        _mapper!.Unmap(m.Offset, m.Length, outcome =>
        {
            _pendingUnmaps = Math.Max(0, _pendingUnmaps - 1);
            Forget(m, freeRange: outcome is MappingOutcome.Done or MappingOutcome.Refused);
            SendBacklog();
        });
    }

    /// <summary>Drops a mapping record; its range is free again only when the VMM is known not to map it.</summary>
    private void Forget(WindowMapping m, bool freeRange)
    {
        if (!_mappings.Remove(m.Offset, out var current) || current != m)
        {
            if (current is not null)
            {
                _mappings[m.Offset] = current;
            }

            return;
        }

        if (freeRange)
        {
            _allocator.Free(m.Offset, m.Length);
        }
        else if (_mapper is not null)
        {
            LostBytes += m.Length;
        }

        m.Buffer.WindowMappings--;
        FreeIfUnused(m.Buffer);
    }

    private void FreeIfUnused(MmapBuffer buffer)
    {
        if (buffer.Released && buffer.WindowMappings == 0 && _buffers.Remove(buffer))
        {
            BufferBytes -= buffer.MappedLength;
            buffer.Dispose();
        }
    }

    private enum MappingState
    {
        Mapping,
        Mapped,
        Unmapping,
    }

    /// <summary>One range of the window and the buffer mapped (or being mapped) there.</summary>
    private sealed class WindowMapping(ulong offset, ulong length, MmapBuffer buffer, uint session, CommandTicket ticket)
    {
        public ulong Offset { get; } = offset;

        public ulong Length { get; } = length;

        public MmapBuffer Buffer { get; } = buffer;

        public uint Session { get; } = session;

        /// <summary>The deferred CMD_MMAP this mapping answers.</summary>
        public CommandTicket Ticket { get; } = ticket;

        public MappingState State { get; set; } = MappingState.Mapping;

        /// <summary>Its session closed or the device reset before the VMM acknowledged it.</summary>
        public bool Cancelled { get; set; }
    }
}
