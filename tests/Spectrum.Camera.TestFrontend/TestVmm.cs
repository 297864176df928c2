namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// Plays QEMU 10.0's generic vhost-user device: replays the message sequences QEMU 10.0 sends (hw/virtio/vhost.c and
/// vhost-user.c: device init, driver start, stop) over a real socket with real memfd RAM and eventfds, and owns the
/// guest's rings.
/// </summary>
public sealed class TestVmm : IDisposable
{
    /// <summary>What QEMU's guest acks with a Linux driver: VERSION_1 | bit 30 | EVENT_IDX | INDIRECT_DESC.</summary>
    public const ulong LinuxGuestFeatures = 0x1_7000_0000UL;

    private readonly ushort[] _queueSizes;
    private readonly List<uint> _lastBases = [];

    public TestVmm(string socketPath, ushort[] queueSizes, ulong ramSize = 64UL << 20)
    {
        ArgumentNullException.ThrowIfNull(queueSizes);
        _queueSizes = queueSizes;
        Ram = new GuestRam(ramSize);
        Client = VhostUserClient.Connect(socketPath);
        Queues = new GuestVirtqueue[queueSizes.Length];
    }

    public GuestRam Ram { get; }

    public VhostUserClient Client { get; }

    /// <summary>The guest's rings of the current driver instance.</summary>
    public GuestVirtqueue[] Queues { get; private set; }

    public ulong OfferedFeatures { get; private set; }

    public ulong OfferedProtocolFeatures { get; private set; }

    public ulong QueueCount { get; private set; }

    /// <summary>Bases returned by the last <see cref="StopDriver"/>.</summary>
    public IReadOnlyList<uint> LastBases => _lastBases;

    /// <summary>§3.1: connection and realize. <paramref name="replyAck"/> chooses whether REPLY_ACK is acked.</summary>
    public void Initialize(bool replyAck = true)
    {
        OfferedFeatures = Client.RequestU64(VhostUserClient.GetFeatures);
        OfferedProtocolFeatures = Client.RequestU64(VhostUserClient.GetProtocolFeatures);
        var acked = OfferedProtocolFeatures & (replyAck ? 0xFFFFFUL : 0xFFFFFUL & ~(1UL << 3));
        Client.SendU64(VhostUserClient.SetProtocolFeatures, acked);
        Client.ReplyAck = (acked & (1UL << 3)) != 0;
        QueueCount = Client.RequestU64(VhostUserClient.GetQueueNum);
        Expect(Client.Send(VhostUserClient.SetOwner, []), "SET_OWNER");
        _ = Client.RequestU64(VhostUserClient.GetFeatures);
        for (var i = 0; i < _queueSizes.Length; i++)
        {
            // QEMU sends a masked notifier at init; the real ones come at start.
            using var masked = Spectrum.Camera.Native.EventFd.Create();
            using var err = Spectrum.Camera.Native.EventFd.Create();
            Expect(Client.SendU64(VhostUserClient.SetVringCall, (ulong)i, [masked.Fd]), "SET_VRING_CALL");
            Expect(Client.SendU64(VhostUserClient.SetVringErr, (ulong)i, [err.Fd]), "SET_VRING_ERR");
        }
    }

    /// <summary>
    /// §3.2: the guest driver sets DRIVER_OK. With <paramref name="newRings"/> the guest builds new rings (boot, reboot,
    /// driver reload: base 0); without, the same rings continue at the bases the backend returned (VM cont).
    /// <paramref name="beforeEnable"/> runs after the rings are described and kicked but before SET_VRING_ENABLE,
    /// where a Linux driver has already posted its eventq buffers.
    /// </summary>
    public void StartDriver(bool newRings, ulong guestFeatures = LinuxGuestFeatures, Action<TestVmm>? beforeEnable = null)
    {
        if (newRings)
        {
            for (var i = 0; i < _queueSizes.Length; i++)
            {
                Queues[i]?.Dispose();
                Queues[i] = new GuestVirtqueue(Ram, _queueSizes[i]);
            }
        }

        Expect(Client.SendU64(VhostUserClient.SetFeatures, guestFeatures | (1UL << 30)), "SET_FEATURES");
        Expect(Client.SendMemTable(Ram), "SET_MEM_TABLE");
        for (var i = 0; i < Queues.Length; i++)
        {
            var q = Queues[i];
            var index = (uint)i;
            var baseIndex = newRings ? 0u : _lastBases[i];
            Expect(Client.SendVringState(VhostUserClient.SetVringNum, index, q.Size), "SET_VRING_NUM");
            Expect(Client.SendVringState(VhostUserClient.SetVringBase, index, baseIndex), "SET_VRING_BASE");
            Expect(Client.SendVringAddress(index, Ram.UserAddressOf(q.DescGpa), Ram.UserAddressOf(q.UsedGpa), Ram.UserAddressOf(q.AvailGpa)), "SET_VRING_ADDR");
            var kick = newRings ? q.Kick : q.RenewKick();
            Expect(Client.SendU64(VhostUserClient.SetVringKick, index, [kick.Fd]), "SET_VRING_KICK");
            Expect(Client.SendU64(VhostUserClient.SetVringCall, index, [q.Call.Fd]), "SET_VRING_CALL");
        }

        beforeEnable?.Invoke(this);
        for (var i = 0; i < Queues.Length; i++)
        {
            Expect(Client.SendVringState(VhostUserClient.SetVringEnable, (uint)i, 1), "SET_VRING_ENABLE");
        }

        for (var i = 0; i < Queues.Length; i++)
        {
            Expect(Client.SendU64(VhostUserClient.SetVringCall, (ulong)i, [Queues[i].Call.Fd]), "SET_VRING_CALL");
        }
    }

    /// <summary>§3.3: driver reset, VM stop or QEMU quit: disable every ring, then fetch each base.</summary>
    public IReadOnlyList<uint> StopDriver()
    {
        for (var i = 0; i < Queues.Length; i++)
        {
            Expect(Client.SendVringState(VhostUserClient.SetVringEnable, (uint)i, 0), "SET_VRING_ENABLE 0");
        }

        _lastBases.Clear();
        for (var i = 0; i < Queues.Length; i++)
        {
            var (index, num) = Client.GetVringBaseOf((uint)i);
            if (index != i)
            {
                throw new InvalidDataException($"GET_VRING_BASE answered for queue {index}, asked {i}");
            }

            _lastBases.Add(num);
        }

        return _lastBases;
    }

    public void Dispose()
    {
        foreach (var q in Queues)
        {
            q?.Dispose();
        }

        Client.Dispose();
        Ram.Dispose();
    }

    private static void Expect(ulong ack, string what)
    {
        if (ack != 0)
        {
            throw new InvalidOperationException($"backend refused {what} (ack {ack})");
        }
    }
}
