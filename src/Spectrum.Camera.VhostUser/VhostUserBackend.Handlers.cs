using System.Buffers.Binary;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.VhostUser;

// Per-request handlers. Each validates sizes, fd counts and values, then acts; false means NACK.
public sealed partial class VhostUserBackend
{
    /// <summary>SET_MEM_TABLE carries at most 8 regions (VHOST_MEMORY_BASELINE_NREGIONS).</summary>
    private const int MaxMemTableRegions = 8;

    /// <summary>Config reads larger than this are refused (VHOST_USER_MAX_CONFIG_SIZE).</summary>
    private const int MaxConfigRead = 256;

    private bool HandleSetFeatures(VhostUserMessage m)
    {
        if (!ExpectPayload(m, 8) || !ExpectFds(m, 0))
        {
            return false;
        }

        var features = BinaryPrimitives.ReadUInt64LittleEndian(m.Payload.Span);
        if ((features & ~OfferedFeatures) != 0)
        {
            return Refuse(m, $"features 0x{features:x} include bits never offered (0x{features & ~OfferedFeatures:x})");
        }

        if (AnyRunning())
        {
            return Refuse(m, "features cannot change while rings run");
        }

        _ackedFeatures = features;
        Log.Debug(Component, $"driver acked features 0x{features:x}");
        if ((features & VhostUserFeatures.ProtocolFeatures) == 0)
        {
            // vhost-user spec: without F_PROTOCOL_FEATURES every ring is enabled at once.
            for (var i = 0; i < _vrings.Length; i++)
            {
                _vrings[i].Enabled = true;
                UpdateRunning(i);
            }
        }

        return true;
    }

    private bool HandleSetProtocolFeatures(VhostUserMessage m)
    {
        if (!ExpectPayload(m, 8) || !ExpectFds(m, 0))
        {
            return false;
        }

        var features = BinaryPrimitives.ReadUInt64LittleEndian(m.Payload.Span);
        if ((features & ~VhostUserFeatures.OfferedProtocol) != 0)
        {
            return Refuse(m, $"protocol features 0x{features:x} include bits never offered");
        }

        _ackedProtocol = features;
        return true;
    }

    private bool HandleSetOwner(VhostUserMessage m)
    {
        if (!ExpectPayload(m, 0) || !ExpectFds(m, 0))
        {
            return false;
        }

        if (_ownerSet)
        {
            return Refuse(m, "SET_OWNER arrived twice on one connection");
        }

        _ownerSet = true;
        return true;
    }

    private bool HandleResetOwner(VhostUserMessage m)
    {
        // Deprecated and never sent by QEMU 10.0; honour it as "stop every ring".
        for (var i = 0; i < _vrings.Length; i++)
        {
            _vrings[i].Enabled = false;
            UpdateRunning(i);
        }

        return ExpectFds(m, 0);
    }

    private bool HandleSetMemTable(VhostUserMessage m)
    {
        var p = m.Payload.Span;
        if (p.Length < 8)
        {
            return Refuse(m, "memory table shorter than its 8-byte header");
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(p);
        if (count == 0 || count > MaxMemTableRegions)
        {
            return Refuse(m, $"memory table has {count} regions, expected 1..{MaxMemTableRegions}");
        }

        if (p.Length != 8 + (32 * (int)count))
        {
            return Refuse(m, $"memory table of {count} regions is {p.Length} bytes, expected {8 + (32 * count)}");
        }

        if (m.FdCount != count)
        {
            return Refuse(m, $"memory table has {count} regions but {m.FdCount} fds");
        }

        var regions = new List<GuestMemoryRegion>();
        try
        {
            for (var i = 0; i < (int)count; i++)
            {
                var r = p.Slice(8 + (32 * i), 32);
                var gpa = BinaryPrimitives.ReadUInt64LittleEndian(r);
                var size = BinaryPrimitives.ReadUInt64LittleEndian(r[8..]);
                var uva = BinaryPrimitives.ReadUInt64LittleEndian(r[16..]);
                var offset = BinaryPrimitives.ReadUInt64LittleEndian(r[24..]);
                var problem = GuestMemoryRegion.Validate(gpa, size, uva, offset);
                if (problem is not null)
                {
                    throw new ArgumentException(problem);
                }

                using var fd = m.TakeFd(i);
                regions.Add(GuestMemoryRegion.Map(gpa, size, uva, offset, fd));
            }

            var memory = new GuestMemory(regions);
            SwapMemory(memory);
            Log.Info(Component, $"guest memory: {count} regions, {memory.TotalSize >> 20} MiB " +
                string.Join(" ", memory.Regions.Select(r => $"[0x{r.GuestPhysicalAddress:x}+0x{r.Size:x}]")));
            return true;
        }
        catch (Exception e) when (e is ArgumentException or NativeException)
        {
            foreach (var region in regions)
            {
                region.Dispose();
            }

            return Refuse(m, "memory table rejected: " + e.Message);
        }
    }

    private void SwapMemory(GuestMemory memory)
    {
        var old = _memory;
        _memory = memory;
        for (var i = 0; i < _vrings.Length; i++)
        {
            var running = _vrings[i].Running;
            if (running is not null && !running.Ring.TryRebind(memory, _vrings[i].Addresses!.Value, out var error))
            {
                // Logs one line and signals the err eventfd, like any ring violation.
                running.Fail($"queue {i} no longer fits the new memory table: {error}");
            }
        }

        // Safe to unmap now: the loop thread is the only user, and every ring was re-translated above.
        old.Dispose();
    }

    private bool HandleSetVringNum(VhostUserMessage m)
    {
        if (!ExpectPayload(m, 8) || !ExpectFds(m, 0))
        {
            return false;
        }

        var (index, num) = ReadVringState(m);
        if (!TryQueueIndex(m, index, out var q))
        {
            return false;
        }

        if (num == 0 || num > SplitQueue.MaxSize || (num & (num - 1)) != 0)
        {
            return Refuse(m, $"queue {q} size {num} is not a power of two in 1..{SplitQueue.MaxSize}");
        }

        if (_vrings[q].Running is not null)
        {
            return Refuse(m, $"queue {q} size cannot change while it runs");
        }

        _vrings[q].Size = num;
        return true;
    }

    private bool HandleSetVringAddr(VhostUserMessage m)
    {
        if (!ExpectPayload(m, 40) || !ExpectFds(m, 0))
        {
            return false;
        }

        var p = m.Payload.Span;
        var index = BinaryPrimitives.ReadUInt32LittleEndian(p);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
        if (!TryQueueIndex(m, index, out var q))
        {
            return false;
        }

        if (flags != 0)
        {
            return Refuse(m, $"queue {q} address flags 0x{flags:x}: dirty logging is not supported");
        }

        if (_vrings[q].Running is not null)
        {
            return Refuse(m, $"queue {q} addresses cannot change while it runs");
        }

        // Wire order is desc, used, avail (vhost-user-backend.md §1.2).
        _vrings[q].Addresses = new VirtqueueAddresses(
            BinaryPrimitives.ReadUInt64LittleEndian(p[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(p[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(p[16..]));
        return true;
    }

    private bool HandleSetVringBase(VhostUserMessage m)
    {
        if (!ExpectPayload(m, 8) || !ExpectFds(m, 0))
        {
            return false;
        }

        var (index, num) = ReadVringState(m);
        if (!TryQueueIndex(m, index, out var q))
        {
            return false;
        }

        if (num > ushort.MaxValue)
        {
            return Refuse(m, $"queue {q} base {num} does not fit 16 bits");
        }

        if (_vrings[q].Running is not null)
        {
            return Refuse(m, $"queue {q} base cannot change while it runs");
        }

        _vrings[q].Base = (ushort)num;
        return true;
    }

    private void HandleGetVringBase(VhostUserMessage m)
    {
        ExpectFds(m, 0);
        var (index, _) = m.Payload.Length == 8 ? ReadVringState(m) : (uint.MaxValue, 0u);
        Span<byte> reply = stackalloc byte[8];
        if (TryQueueIndex(m, index, out var q))
        {
            // Stops the ring (vhost-user spec). StopRing quiesces the device before we answer.
            var vring = _vrings[q];
            vring.Started = false;
            UpdateRunning(q);
            vring.ReplaceKick(null);
            BinaryPrimitives.WriteUInt32LittleEndian(reply, index);
            BinaryPrimitives.WriteUInt32LittleEndian(reply[4..], vring.Base);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(reply, index);
        }

        Reply(m.Request, reply);
    }

    private bool HandleSetVringFd(VhostUserMessage m, VringFdKind kind)
    {
        if (!ExpectPayload(m, 8))
        {
            return false;
        }

        var value = BinaryPrimitives.ReadUInt64LittleEndian(m.Payload.Span);
        var noFd = (value & VringNoFd) != 0;
        if ((value & ~(VringNoFd | 0xFFUL)) != 0)
        {
            return Refuse(m, $"vring fd message value 0x{value:x} has reserved bits set");
        }

        if (!TryQueueIndex(m, value & 0xFF, out var q) || !ExpectFds(m, noFd ? 0 : 1))
        {
            return false;
        }

        if (!noFd && !m.PeekFd(0).IsEventFd())
        {
            // epoll refuses regular files, and a "signal" written to a memfd would land in guest RAM.
            return Refuse(m, $"queue {q}: the {kind} fd is not an eventfd (it was closed)");
        }

        var fd = noFd ? null : new EventFd(m.TakeFd(0));
        var vring = _vrings[q];
        switch (kind)
        {
            case VringFdKind.Kick:
                if (fd is null)
                {
                    return Refuse(m, $"queue {q}: polling mode (kick NOFD) is not supported");
                }

                if (vring.Running is not null && vring.Kick is not null)
                {
                    _loop.Unwatch(vring.Kick.Fd);
                    vring.ReplaceKick(fd);
                    _loop.Watch(fd.Fd, () => OnKick(q));
                }
                else
                {
                    vring.ReplaceKick(fd);
                }

                // The vhost-user spec starts a ring when its kick fd arrives.
                vring.Started = true;
                UpdateRunning(q);
                return true;
            case VringFdKind.Call:
                vring.ReplaceCall(fd);
                return true;
            default:
                vring.ReplaceErr(fd);
                return true;
        }
    }

    private bool HandleSetVringEnable(VhostUserMessage m)
    {
        if (!ExpectPayload(m, 8) || !ExpectFds(m, 0))
        {
            return false;
        }

        var (index, num) = ReadVringState(m);
        if (!TryQueueIndex(m, index, out var q))
        {
            return false;
        }

        if (num > 1)
        {
            return Refuse(m, $"queue {q} enable value {num} is not 0 or 1");
        }

        _vrings[q].Enabled = num == 1;
        UpdateRunning(q);
        return true;
    }

    private void HandleGetConfig(VhostUserMessage m)
    {
        ExpectFds(m, 0);
        var p = m.Payload.Span;
        var config = _device.ConfigSpace;
        uint offset = 0, size = 0, flags = 0;
        var valid = p.Length >= 12;
        if (valid)
        {
            offset = BinaryPrimitives.ReadUInt32LittleEndian(p);
            size = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
            flags = BinaryPrimitives.ReadUInt32LittleEndian(p[8..]);
            valid = p.Length == 12 + (long)size && size <= MaxConfigRead &&
                    offset <= (uint)config.Length && size <= (uint)config.Length - offset;
        }

        if (!valid)
        {
            // A zero-size reply tells QEMU the read failed.
            Refuse(m, $"config read offset {offset} size {size} (payload {p.Length} bytes) is outside the {config.Length}-byte config space");
            Span<byte> empty = stackalloc byte[12];
            empty.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(empty, offset);
            Reply(m.Request, empty);
            return;
        }

        Span<byte> reply = stackalloc byte[12 + (int)size];
        BinaryPrimitives.WriteUInt32LittleEndian(reply, offset);
        BinaryPrimitives.WriteUInt32LittleEndian(reply[4..], size);
        BinaryPrimitives.WriteUInt32LittleEndian(reply[8..], flags);
        config.Slice((int)offset, (int)size).CopyTo(reply[12..]);
        Reply(m.Request, reply);
    }

    private static (uint Index, uint Num) ReadVringState(VhostUserMessage m) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(m.Payload.Span), BinaryPrimitives.ReadUInt32LittleEndian(m.Payload.Span[4..]));

    private bool AnyRunning() => _vrings.Any(v => v.Running is not null);

    /// <summary>Starts or stops ring <paramref name="q"/> to match its started/enabled/described state.</summary>
    private void UpdateRunning(int q)
    {
        var v = _vrings[q];
        var shouldRun = v.Started && v.Enabled && v.Kick is not null && v.Addresses is not null && v.Size != 0 &&
                        _memory.Regions.Count > 0;
        if (shouldRun && v.Running is null)
        {
            StartRing(q);
        }
        else if (!shouldRun && v.Running is not null)
        {
            StopRing(q);
        }
    }

    private void StartRing(int q)
    {
        var v = _vrings[q];
        if (!AnyRunning() && IsNewDriverInstance())
        {
            Log.Info(Component, _everStarted ? "driver restarted with new rings: resetting the device" : "driver started");
            foreach (var vring in _vrings)
            {
                // Chains of the old driver instance must never be completed into the new rings.
                vring.Suspended = null;
            }

            _device.Reset();
        }

        var eventIdx = (_ackedFeatures & VhostUserFeatures.RingEventIdx) != 0;
        var indirect = (_ackedFeatures & VhostUserFeatures.RingIndirectDesc) != 0;
        var ring = SplitQueue.TryCreate(_memory, v.Size, v.Addresses!.Value, v.Base, eventIdx, indirect, out var error);
        if (ring is null)
        {
            Log.GuestFault(Component, "ring-setup", $"queue {q} cannot start: {error}");
            v.Err?.Signal();
            return;
        }

        // VM stop/cont: the same driver continues on the same ring, so chains the device still holds stay in flight.
        if (v.Suspended is { } previous && previous.Size == ring.Size && v.LastRun is { } last &&
            last.Addresses == v.Addresses.Value && last.Base == v.Base)
        {
            ring.AdoptInFlight(previous);
        }

        v.Suspended = null;

        _everStarted = true;
        v.Running = new DeviceQueue(q, ring, v);
        _loop.Watch(v.Kick!.Fd, () => OnKick(q));
        Log.Debug(Component, $"queue {q} started: size {v.Size}, base {v.Base}, event_idx {eventIdx}, indirect {indirect}");
        _device.QueueStarted(q, v.Running);
        // Re-scan on start: QEMU's kick can arrive before the ring is enabled, and eventq buffers are posted early.
        _device.QueueNotified(q);
    }

    private void StopRing(int q)
    {
        var v = _vrings[q];
        if (v.Running is null)
        {
            return;
        }

        if (v.Kick is not null)
        {
            _loop.Unwatch(v.Kick.Fd);
        }

        _device.QueueStopped(q);
        v.Base = v.Running.Ring.LastAvailIndex;
        v.LastRun = (v.Addresses!.Value, v.Base);
        v.Suspended = v.Running.Ring;
        v.Running = null;
        Log.Debug(Component, $"queue {q} stopped at avail index {v.Base}");
    }

    /// <summary>
    /// A VM stop/cont restarts rings at the same addresses and the base we returned; a reboot or driver reload brings
    /// new addresses or base 0 (vhost-user-backend.md §5). The generic device sends no explicit reset.
    /// </summary>
    private bool IsNewDriverInstance()
    {
        if (!_everStarted)
        {
            return true;
        }

        foreach (var v in _vrings)
        {
            if (v.Addresses is not null && v.LastRun is { } last && (last.Addresses != v.Addresses.Value || last.Base != v.Base))
            {
                return true;
            }
        }

        return false;
    }

    private void OnKick(int q)
    {
        var v = _vrings[q];
        v.Kick?.Consume();
        if (v.Running is not null)
        {
            _device.QueueNotified(q);
        }
    }
}
