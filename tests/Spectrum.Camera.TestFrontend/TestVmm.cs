namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// Plays QEMU's vhost-user front-end for a virtio-media device: replays the message sequences QEMU sends (device init,
/// driver start, stop) over a real socket with real memfd RAM and eventfds, serves the backend channel, and owns the
/// guest's rings. Two front-ends are played (<see cref="FrontendModel"/>): QEMU 10.0's generic device and QEMU 11.2's
/// vhost-user-media-pci with its shared-memory region 0 and its reconnect.
/// </summary>
public sealed class TestVmm : IDisposable
{
    /// <summary>What QEMU's guest acks with a Linux driver: VERSION_1 | bit 30 | EVENT_IDX | INDIRECT_DESC.</summary>
    public const ulong LinuxGuestFeatures = 0x1_7000_0000UL;

    public const ulong ProtocolReplyAck = 1UL << 3, ProtocolBackendReq = 1UL << 5, ProtocolShmem = 1UL << 22;

    private readonly ushort[] _queueSizes;
    private readonly List<uint> _lastBases = [];

    public TestVmm(string socketPath, ushort[] queueSizes, ulong ramSize = 64UL << 20, FrontendModel model = FrontendModel.Qemu10Generic)
    {
        ArgumentNullException.ThrowIfNull(queueSizes);
        _queueSizes = queueSizes;
        Model = model;
        Ram = new GuestRam(ramSize);
        Client = VhostUserClient.Connect(socketPath);
        Queues = new GuestVirtqueue[queueSizes.Length];
    }

    public FrontendModel Model { get; }

    public GuestRam Ram { get; }

    public VhostUserClient Client { get; private set; }

    /// <summary>The guest's rings of the current driver instance.</summary>
    public GuestVirtqueue[] Queues { get; private set; }

    public ulong OfferedFeatures { get; private set; }

    public ulong OfferedProtocolFeatures { get; private set; }

    /// <summary>What SET_PROTOCOL_FEATURES acknowledged.</summary>
    public ulong AckedProtocolFeatures { get; private set; }

    public ulong QueueCount { get; private set; }

    /// <summary>The backend channel, when BACKEND_REQ was negotiated (QEMU 10.0 negotiates it too, and leaves it idle).</summary>
    public BackendChannelServer? Channel { get; private set; }

    /// <summary>Region 0 of QEMU 11.2's media device, sized by GET_SHMEM_CONFIG at realize; null for QEMU 10.0.</summary>
    public SharedMemoryRegion? Region { get; private set; }

    /// <summary>Bases returned by the last <see cref="StopDriver"/>.</summary>
    public IReadOnlyList<uint> LastBases => _lastBases;

    /// <summary>
    /// The protocol features QEMU acknowledges of an offer: those it knows, bits 0..19 in 10.0 and 0..23 in 11.2
    /// (VHOST_USER_PROTOCOL_FEATURE_MASK = (1 &lt;&lt; VHOST_USER_PROTOCOL_F_MAX) - 1 in hw/virtio/vhost-user.c).
    /// </summary>
    public ulong ProtocolMask => Model == FrontendModel.Qemu10Generic ? 0xFFFFFUL : 0xFFFFFFUL;

    /// <summary>
    /// Connection and realize (vhost_user_backend_init, then vhost_dev_init): GET_FEATURES, GET/SET_PROTOCOL_FEATURES,
    /// GET_QUEUE_NUM, SET_BACKEND_REQ_FD when BACKEND_REQ was acknowledged, SET_OWNER, GET_FEATURES, a masked call and an
    /// err fd per queue; then, for QEMU 11.2's media device, GET_SHMEM_CONFIG, which must report a non-zero region 0
    /// that is a multiple of the host page size, or realize fails (vu_media_device_realize in
    /// hw/display/vhost-user-media.c, qemu/qemu 6439ee61). <paramref name="replyAck"/> chooses whether REPLY_ACK is acked.
    /// </summary>
    public void Initialize(bool replyAck = true)
    {
        OfferedFeatures = Client.RequestU64(VhostUserClient.GetFeatures);
        OfferedProtocolFeatures = Client.RequestU64(VhostUserClient.GetProtocolFeatures);
        var acked = OfferedProtocolFeatures & ProtocolMask & (replyAck ? ulong.MaxValue : ~ProtocolReplyAck);
        AckedProtocolFeatures = acked;
        Client.SendU64(VhostUserClient.SetProtocolFeatures, acked);
        Client.ReplyAck = (acked & ProtocolReplyAck) != 0;
        QueueCount = Client.RequestU64(VhostUserClient.GetQueueNum);
        if ((acked & ProtocolBackendReq) != 0)
        {
            OpenBackendChannel();
        }

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

        if (Model == FrontendModel.Qemu112Media)
        {
            RealizeSharedMemory();
        }
    }

    /// <summary>
    /// §3.2: the guest driver sets DRIVER_OK. With <paramref name="newRings"/> the guest builds new rings (boot, reboot,
    /// driver reload: base 0); without, the same rings continue at the bases the backend returned (VM cont).
    /// <paramref name="beforeEnable"/> runs after the rings are described and kicked but before SET_VRING_ENABLE,
    /// where a Linux driver has already posted its eventq buffers. QEMU 11.2's vu_media_start sends the same sequence
    /// as 10.0's vub_start.
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

    /// <summary>
    /// QEMU 11.2's media device after its backend died and a new one is reachable at <paramref name="socketPath"/>:
    /// CHR_EVENT_CLOSED stopped the device with nobody to answer (GET_VRING_BASE failed, so each queue's last avail
    /// index fell back to its used index), and CHR_EVENT_OPENED on the new connection only restarts the device
    /// (vu_media_connect, then vu_media_start: the start sequence, nothing negotiated again, no new backend channel;
    /// region 0 keeps its mappings). The driver instance and its rings stay; the guest never noticed.
    /// </summary>
    public void Reconnect(string socketPath)
    {
        if (Model != FrontendModel.Qemu112Media)
        {
            throw new InvalidOperationException("QEMU 10.0's generic device cannot reconnect to a back-end");
        }

        var replyAck = Client.ReplyAck;
        Client.Dispose();
        Client = VhostUserClient.Connect(socketPath);
        Client.ReplyAck = replyAck;
        _lastBases.Clear();
        foreach (var q in Queues)
        {
            _lastBases.Add(q.UsedIndex);
        }

        StartDriver(newRings: false);
    }

    public void Dispose()
    {
        foreach (var q in Queues)
        {
            q?.Dispose();
        }

        Client.Dispose();
        Channel?.Dispose();
        Region?.Dispose();
        Ram.Dispose();
    }

    private void OpenBackendChannel()
    {
        var (ours, theirs) = Spectrum.Camera.Native.UnixSocket.CreatePair();
        using (theirs)
        {
            Expect(Client.Send(VhostUserClient.SetBackendReqFd, [], [theirs.Fd]), "SET_BACKEND_REQ_FD");
        }

        Channel = new BackendChannelServer(ours, null);
    }

    private void RealizeSharedMemory()
    {
        if ((AckedProtocolFeatures & ProtocolShmem) == 0)
        {
            throw new InvalidOperationException("vhost-user-media: backend did not provide shared memory region 0 (SHMEM not negotiated)");
        }

        var (regions, size0) = Client.GetShmemConfig();
        if (regions == 0 || size0 == 0)
        {
            throw new InvalidOperationException("vhost-user-media: backend did not provide shared memory region 0");
        }

        if (size0 % (ulong)Environment.SystemPageSize != 0)
        {
            throw new InvalidOperationException("shared memory region 0 size must be a multiple of the host page size");
        }

        Region = new SharedMemoryRegion(size0);
        Channel?.AttachRegion(Region);
    }

    private static void Expect(ulong ack, string what)
    {
        if (ack != 0)
        {
            throw new InvalidOperationException($"backend refused {what} (ack {ack})");
        }
    }
}

/// <summary>Which QEMU front-end a <see cref="TestVmm"/> plays.</summary>
public enum FrontendModel
{
    /// <summary>QEMU 10.0.2's vhost-user-device-pci (patched for id 48): no shared memory, no reconnect.</summary>
    Qemu10Generic,

    /// <summary>
    /// QEMU 11.2's vhost-user-media-pci (hw/display/vhost-user-media.c, qemu/qemu 6439ee61): queues of 128,
    /// GET_SHMEM_CONFIG at realize, SHMEM_MAP/UNMAP served, and a restart of the device on a new connection.
    /// </summary>
    Qemu112Media,
}
