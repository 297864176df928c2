using System.Buffers.Binary;
using Spectrum.Camera.Native;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// Negotiating shared-memory region 0 over real sockets: what QEMU 10.0 takes of the offer (BACKEND_REQ but never
/// SHMEM, so its device is the one it always saw), QEMU 11.2's realize (GET_SHMEM_CONFIG, the backend channel), the
/// reply's exact bytes, hostile SET_BACKEND_REQ_FD and GET_SHMEM_CONFIG messages, and a connection resumed mid-protocol.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SharedMemoryHandshakeTests : CoreFixture
{
    private const ulong Region = 8UL << 20;
    private const ulong OfferedWithRegion = 0x400629; // MQ | REPLY_ACK | BACKEND_REQ | CONFIG | BACKEND_SEND_FD | SHMEM

    private static readonly int[] OncePerQueue = [1, 1];

    [Test]
    public void Qemu_10_takes_backend_req_but_not_shmem_and_its_channel_stays_idle_through_a_session()
    {
        using var s = new CoreSession(sharedMemorySize: Region);

        Assert.Multiple(() =>
        {
            Assert.That(s.Vmm.OfferedProtocolFeatures, Is.EqualTo(OfferedWithRegion), "offer");
            Assert.That(s.Vmm.AckedProtocolFeatures, Is.EqualTo(0x629UL), "QEMU 10.0 acks bits 0..19 only: no SHMEM");
            Assert.That(s.Vmm.Channel, Is.Not.Null, "QEMU 10.0 hands over a backend channel for BACKEND_REQ");
        });
        s.AssertEchoWorks();
        s.AssertEventQueueWorks();
        s.RestartDriver();
        s.AssertEchoWorks();
        s.Harness.Sync();

        Assert.Multiple(() =>
        {
            Assert.That(s.Harness.OnLoop(() => s.Harness.Device.MapperChanges.Count), Is.Zero, "the device never gets a window");
            Assert.That(s.Vmm.Channel!.Requests, Is.Empty, "nothing is ever sent on QEMU 10.0's channel");
            Assert.That(s.Vmm.Region, Is.Null);
        });
        s.AssertBackendIntact();
    }

    [Test]
    public void Qemu_11_2_realize_gets_a_page_multiple_region_0_and_the_device_its_mapper()
    {
        using var s = new CoreSession(sharedMemorySize: Region, model: FrontendModel.Qemu112Media);

        Assert.Multiple(() =>
        {
            Assert.That(s.Vmm.AckedProtocolFeatures, Is.EqualTo(OfferedWithRegion), "QEMU 11.2 acks the whole offer");
            Assert.That(s.Vmm.Region!.Size, Is.EqualTo(Region));
            var mapper = s.Harness.OnLoop(() => s.Harness.Device.Mapper);
            Assert.That(mapper, Is.Not.Null);
            Assert.That(mapper!.RegionSize, Is.EqualTo(Region));
            Assert.That(mapper.IsUsable, Is.True);
        });
        s.AssertEchoWorks();
        s.AssertBackendIntact();
    }

    [Test]
    public void The_get_shmem_config_reply_is_2056_bytes_one_region_and_zeros()
    {
        using var s = new CoreSession(sharedMemorySize: Region, model: FrontendModel.Qemu112Media);

        s.Client.SendRaw(VhostUserClient.GetShmemConfigRequest, 0x1, []);
        var reply = s.Client.ReadReply(VhostUserClient.GetShmemConfigRequest);

        Assert.That(reply, Has.Length.EqualTo(2056), "u32 nregions, u32 padding, u64 memory_sizes[256]");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(reply), Is.EqualTo(1u), "nregions");
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(reply.AsSpan(8)), Is.EqualTo(Region), "memory_sizes[0]");
        Assert.That(reply.AsSpan(4, 4).ContainsAnyExcept((byte)0), Is.False, "padding");
        Assert.That(reply.AsSpan(16).ContainsAnyExcept((byte)0), Is.False, "regions 1..255 do not exist");
        s.AssertBackendIntact();
    }

    [Test]
    public void Get_shmem_config_without_shmem_negotiated_answers_no_region_and_logs_it()
    {
        using var s = new CoreSession(sharedMemorySize: Region);

        s.Client.SendRaw(VhostUserClient.GetShmemConfigRequest, 0x1, []);
        var reply = s.Client.ReadReply(VhostUserClient.GetShmemConfigRequest);

        Assert.That(reply, Has.Length.EqualTo(2056));
        Assert.That(reply.AsSpan().ContainsAnyExcept((byte)0), Is.False, "no region: QEMU 10.0 never negotiated one");
        Assert.That(s.Log.Text, Does.Contain("SHMEM was not negotiated: answered with no region"));
        s.AssertEchoWorks();
    }

    [TestCase(8, 0)]
    [TestCase(0, 2)]
    [TestCase(3000, 1)]
    public void Get_shmem_config_with_a_payload_or_fds_is_still_answered_whole_and_the_fds_closed(int payload, int fds)
    {
        using var s = new CoreSession(sharedMemorySize: Region, model: FrontendModel.Qemu112Media);
        var attached = Enumerable.Range(0, fds).Select(_ => EventFd.Create()).ToList();

        s.Client.SendRaw(VhostUserClient.GetShmemConfigRequest, 0x9, new byte[payload], [.. attached.Select(e => e.Fd)]);
        var reply = s.Client.ReadReply(VhostUserClient.GetShmemConfigRequest);
        attached.ForEach(e => e.Dispose());

        Assert.That(reply, Has.Length.EqualTo(2056));
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(reply.AsSpan(8)), Is.EqualTo(Region));
        s.AssertEchoWorks();
        s.AssertBackendIntact();
    }

    [Test]
    public void A_device_without_a_region_answers_no_region_even_when_asked()
    {
        using var s = new CoreSession();

        s.Client.SendRaw(VhostUserClient.GetShmemConfigRequest, 0x1, []);
        var reply = s.Client.ReadReply(VhostUserClient.GetShmemConfigRequest);

        Assert.That(s.Vmm.OfferedProtocolFeatures, Is.EqualTo(0x209UL), "no window: today's offer, exactly");
        Assert.That(reply, Has.Length.EqualTo(2056));
        Assert.That(reply.AsSpan().ContainsAnyExcept((byte)0), Is.False);
    }

    [Test]
    public void Set_backend_req_fd_is_refused_without_backend_req_with_no_socket_or_with_a_payload_and_the_connection_lives()
    {
        using var harness = new BackendHarness(Region);
        using var client = VhostUserClient.Connect(harness.SocketPath);
        Assert.That(client.RequestU64(VhostUserClient.GetFeatures), Is.Not.Zero);
        client.SendU64(VhostUserClient.SetProtocolFeatures, 0x209); // REPLY_ACK, no BACKEND_REQ
        client.ReplyAck = true;
        var (ours, theirs) = UnixSocket.CreatePair();
        using (ours)
        using (theirs)
        {
            Assert.That(client.Send(VhostUserClient.SetBackendReqFd, [], [theirs.Fd]), Is.Not.Zero, "BACKEND_REQ not negotiated");
            client.SendU64(VhostUserClient.SetProtocolFeatures, OfferedWithRegion);
            using var eventFd = EventFd.Create();
            Assert.Multiple(() =>
            {
                Assert.That(client.Send(VhostUserClient.SetBackendReqFd, [], [eventFd.Fd]), Is.Not.Zero, "an eventfd is no socket");
                Assert.That(client.Send(VhostUserClient.SetBackendReqFd, []), Is.Not.Zero, "no fd");
                Assert.That(client.Send(VhostUserClient.SetBackendReqFd, [], [theirs.Fd, theirs.Fd]), Is.Not.Zero, "two fds");
                Assert.That(client.Send(VhostUserClient.SetBackendReqFd, new byte[8], [theirs.Fd]), Is.Not.Zero, "a payload");
            });
            harness.Sync();
            Assert.That(harness.OnLoop(() => harness.Device.MapperChanges.Count), Is.Zero, "no channel was taken");

            Assert.That(client.Send(VhostUserClient.SetBackendReqFd, [], [theirs.Fd]), Is.Zero, "the valid one is taken");

            // While the front-end keeps its end open (closing it gives the channel up).
            Assert.That(harness.OnLoop(() => harness.Device.Mapper), Is.Not.Null, "SHMEM, REPLY_ACK and a channel: the window is usable");
        }

        Assert.That(harness.Log.Text, Does.Contain("BACKEND_REQ was not negotiated").And.Contain("is not a socket"));
        Assert.That(harness.Disconnect, Is.Null);
    }

    [Test]
    public void A_second_backend_channel_replaces_the_first_which_is_closed()
    {
        using var s = new CoreSession(sharedMemorySize: Region, model: FrontendModel.Qemu112Media);
        var first = s.Harness.OnLoop(() => s.Harness.Device.Mapper);
        var (ours, theirs) = UnixSocket.CreatePair();
        using (theirs)
        {
            Assert.That(s.Client.Send(VhostUserClient.SetBackendReqFd, [], [theirs.Fd]), Is.Zero);
        }

        using var channel = new BackendChannelServer(ours, s.Vmm.Region);
        var second = s.Harness.OnLoop(() => s.Harness.Device.Mapper);

        Assert.Multiple(() =>
        {
            Assert.That(second, Is.Not.Null.And.Not.SameAs(first), "the device maps through the new channel");
            Assert.That(first!.IsUsable, Is.False, "the old channel is given up");
            Assert.That(SpinWait.SpinUntil(() => s.Vmm.Channel!.Closed, TestWait.Bound), Is.True, "the front-end sees its old channel closed");
        });
        s.AssertEchoWorks();
    }

    [Test]
    public void A_connection_resumed_mid_protocol_gets_every_ack_it_asks_for_and_one_warning()
    {
        using var first = new BackendHarness(Region);
        using var vmm = new TestVmm(first.SocketPath, CoreSession.DefaultQueueSizes, model: FrontendModel.Qemu112Media);
        vmm.Client.ReplyTimeout = TestWait.Bound;
        vmm.Initialize();
        vmm.StartDriver(newRings: true);
        using var second = new BackendHarness(Region);

        // QEMU 11.2 restarts the device on the new connection: SET_FEATURES first, every request with NEED_REPLY, and it
        // blocks on each ack. Without them the VMM would hang; with them the rings run again.
        vmm.Reconnect(second.SocketPath);
        second.Sync();

        Assert.Multiple(() =>
        {
            Assert.That(second.OnLoop(() => second.Device.StartCount.ToArray()), Is.EqualTo(OncePerQueue), "both rings run");
            Assert.That(second.OnLoop(() => second.Backend!.IsResumed), Is.True);
            Assert.That(second.OnLoop(() => second.Backend!.AckedProtocolFeatures), Is.EqualTo(OfferedWithRegion));
            Assert.That(second.OnLoop(() => second.Device.Mapper), Is.Null, "no new backend channel: no window");
            Assert.That(second.Log.Text.Split('\n').Count(l => l.Contains("resumed a connection", StringComparison.Ordinal)), Is.EqualTo(1));
            Assert.That(second.Log.Text, Does.Contain("its first message is SetFeatures"));
            Assert.That(vmm.Region!.Size, Is.EqualTo(Region), "QEMU keeps region 0");
        });
        Assert.That(second.Disconnect, Is.Null);
    }
}
