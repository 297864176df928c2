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

    /// <summary>The GET_SHMEM_CONFIG reply: u32 nregions, u32 padding, 256 region sizes (VIRTIO_MAX_SHMEM_REGIONS).</summary>
    private const int ShmemConfigSize = 8 + (256 * 8);

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

        if (_rings.AnyRunning)
        {
            return Refuse(m, "features cannot change while rings run");
        }

        _rings.AckedFeatures = features;
        Log.Debug(Component, $"driver acked features 0x{features:x}");
        if ((features & VhostUserFeatures.ProtocolFeatures) == 0)
        {
            // vhost-user spec: without F_PROTOCOL_FEATURES every ring is enabled at once.
            _rings.SetAllEnabled(true);
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
        if ((features & ~OfferedProtocolFeatures) != 0)
        {
            return Refuse(m, $"protocol features 0x{features:x} include bits never offered");
        }

        _ackedProtocol = features;
        UpdateSharedMemory();
        return true;
    }

    /// <summary>
    /// SET_BACKEND_REQ_FD: one fd, the front-end's socket for backend requests (vhost-user spec; QEMU sends it at init
    /// when BACKEND_REQ is negotiated, QEMU 10.0 included). A second one replaces the first.
    /// </summary>
    private bool HandleSetBackendReqFd(VhostUserMessage m)
    {
        if (!ExpectPayload(m, 0) || !ExpectFds(m, 1))
        {
            return false;
        }

        if ((_ackedProtocol & VhostUserFeatures.ProtocolBackendReq) == 0)
        {
            return Refuse(m, "BACKEND_REQ was not negotiated");
        }

        if (!m.PeekFd(0).IsSocket())
        {
            return Refuse(m, "the backend channel fd is not a socket (it was closed)");
        }

        _channel?.Abandon("the VMM handed over a new backend channel");
        _channel = new BackendChannel(_loop, UnixSocket.Adopt(m.TakeFd(0)), _device.SharedMemoryRegionSize);
        _channel.Lost += _ => UpdateSharedMemory();
        Log.Debug(Component, "backend channel open");
        UpdateSharedMemory();
        return true;
    }

    /// <summary>
    /// GET_SHMEM_CONFIG: u32 nregions, u32 padding, u64 memory_sizes[256] (VhostUserShMemConfig, 2,056 bytes; QEMU
    /// hw/virtio/vhost-user.c, qemu/qemu 1276e6c8). Region 0 exists only when SHMEM was negotiated; otherwise, and for a
    /// device without a region, the answer is no region, never silence (the front-end blocks on this reply).
    /// </summary>
    private void HandleGetShmemConfig(VhostUserMessage m)
    {
        ExpectFds(m, 0);
        if (m.Payload.Length != 0)
        {
            Refuse(m, $"payload is {m.Payload.Length} bytes, expected 0 (answered anyway)");
        }

        var size = _device.SharedMemoryRegionSize;
        var negotiated = (_ackedProtocol & VhostUserFeatures.ProtocolShmem) != 0;
        if (!negotiated && size > 0)
        {
            Refuse(m, "SHMEM was not negotiated: answered with no region");
        }

        Span<byte> reply = stackalloc byte[ShmemConfigSize];
        reply.Clear();
        if (negotiated && size > 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(reply, 1);
            BinaryPrimitives.WriteUInt64LittleEndian(reply[8..], size);
        }

        Reply(m.Request, reply);
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
        _rings.SetAllEnabled(false);
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
            _rings.ReplaceMemory(memory);
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

        if (_rings[q].Running is not null)
        {
            return Refuse(m, $"queue {q} size cannot change while it runs");
        }

        if (num == 0 || num > SplitQueue.MaxSize || (num & (num - 1)) != 0)
        {
            // The queue is left without a size, so it cannot start until a valid size arrives: starting it with the
            // size it had before would serve a ring of another size than the front-end now believes.
            _rings[q].Size = 0;
            return Refuse(m, $"queue {q} size {num} is not a power of two in 1..{SplitQueue.MaxSize}; the queue has no size until a valid one arrives");
        }

        _rings[q].Size = num;
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

        if (_rings[q].Running is not null)
        {
            return Refuse(m, $"queue {q} addresses cannot change while it runs");
        }

        // struct vhost_vring_addr puts the used ring before the avail ring: desc, used, avail (vhost-user spec, "Vring address description").
        _rings[q].Addresses = new VirtqueueAddresses(
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

        if (_rings[q].Running is not null)
        {
            return Refuse(m, $"queue {q} base cannot change while it runs");
        }

        _rings[q].Base = (ushort)num;
        return true;
    }

    private void HandleGetVringBase(VhostUserMessage m)
    {
        ExpectFds(m, 0);
        var (index, _) = m.Payload.Length == 8 ? ReadVringState(m) : (uint.MaxValue, 0u);
        Span<byte> reply = stackalloc byte[8];
        if (TryQueueIndex(m, index, out var q))
        {
            // Stops the ring (vhost-user spec); the device quiesces before we answer.
            BinaryPrimitives.WriteUInt32LittleEndian(reply, index);
            BinaryPrimitives.WriteUInt32LittleEndian(reply[4..], _rings.Stop(q));
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

        if (kind == VringFdKind.Kick && noFd)
        {
            return Refuse(m, $"queue {q}: polling mode (kick NOFD) is not supported");
        }

        var fd = noFd ? null : new EventFd(m.TakeFd(0));
        var vring = _rings[q];
        switch (kind)
        {
            case VringFdKind.Kick:
                _rings.ReplaceKick(q, fd!);
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

        _rings[q].Enabled = num == 1;
        _rings.Update(q);
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
}
