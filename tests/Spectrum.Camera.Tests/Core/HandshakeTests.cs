using System.Buffers.Binary;
using Spectrum.Camera.Native;
using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// The message sequences QEMU 10.0.2 sends (device init, driver start, stop) replayed over a real socket against the
/// real backend, plus GET_CONFIG and REPLY_ACK behaviour.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HandshakeTests : CoreFixture
{
    private const ulong OfferedFeatures = 0x1_7000_0000UL; // VERSION_1 | bit 30 | EVENT_IDX | INDIRECT_DESC
    private const ulong OfferedProtocol = 0x209; // MQ | REPLY_ACK | CONFIG

    private static readonly int[] OncePerQueue = [1, 1];

    [Test]
    public void Init_sequence_of_section_3_1_is_answered_exactly()
    {
        using var harness = new BackendHarness();
        using var client = VhostUserClient.Connect(harness.SocketPath);

        Assert.That(client.RequestU64(VhostUserClient.GetFeatures), Is.EqualTo(OfferedFeatures));
        Assert.That(client.RequestU64(VhostUserClient.GetProtocolFeatures), Is.EqualTo(OfferedProtocol));
        // QEMU acks what it knows of the offer (mask 0xFFFFF) without NEED_REPLY, then uses REPLY_ACK from here on.
        client.SendU64(VhostUserClient.SetProtocolFeatures, OfferedProtocol & 0xFFFFF);
        client.ReplyAck = true;
        Assert.That(client.RequestU64(VhostUserClient.GetQueueNum), Is.EqualTo(2UL));
        Assert.That(client.Send(VhostUserClient.SetOwner, []), Is.Zero, "SET_OWNER acked");
        Assert.That(client.RequestU64(VhostUserClient.GetFeatures), Is.EqualTo(OfferedFeatures), "features re-read");
        for (var i = 0UL; i < 2; i++)
        {
            using var masked = EventFd.Create();
            using var err = EventFd.Create();
            Assert.That(client.SendU64(VhostUserClient.SetVringCall, i, [masked.Fd]), Is.Zero, $"SET_VRING_CALL {i}");
            Assert.That(client.SendU64(VhostUserClient.SetVringErr, i, [err.Fd]), Is.Zero, $"SET_VRING_ERR {i}");
        }

        harness.Sync();
        Assert.Multiple(() =>
        {
            Assert.That(harness.OnLoop(() => harness.Device.StartCount.Sum()), Is.Zero, "no ring runs after init");
            Assert.That(harness.OnLoop(() => harness.Device.ResetCount), Is.Zero);
            Assert.That(harness.Disconnect, Is.Null);
            Assert.That(harness.LoopException, Is.Null);
        });
    }

    [Test]
    public void Start_sequence_of_section_3_2_runs_both_queues()
    {
        using var s = new CoreSession();

        Assert.Multiple(() =>
        {
            Assert.That(s.Harness.OnLoop(() => s.Harness.Device.StartCount.ToArray()), Is.EqualTo(OncePerQueue));
            Assert.That(s.Harness.OnLoop(() => s.Harness.Device.ResetCount), Is.EqualTo(1), "first driver start resets the device once");
            Assert.That(s.Log.Contains("driver started"), Is.True, s.Log.Text);
        });
        s.AssertEchoWorks();
        s.AssertEventQueueWorks();
        s.AssertBackendIntact();
    }

    [Test]
    public void Stop_sequence_of_section_3_3_returns_consumed_avail_indices_and_quiesces()
    {
        using var s = new CoreSession();
        for (var i = 0; i < 3; i++)
        {
            s.AssertEchoWorks();
        }

        s.PostEventBuffer();
        s.PostEventBuffer();
        s.EventQueue.Notify();
        Assert.That(SpinWait.SpinUntil(() => s.HeldEvents() == 2, TestWait.Bound), Is.True);

        var bases = s.Vmm.StopDriver();

        Assert.That(bases, Is.EqualTo(new uint[] { 3, 2 }), "GET_VRING_BASE = next avail index not consumed");
        var usedBefore = s.EchoQueue.UsedIndex;
        s.PostEcho([1, 2, 3], 8);
        s.EchoQueue.Notify();
        s.Harness.Sync();
        Assert.Multiple(() =>
        {
            Assert.That(s.Harness.OnLoop(() => s.Harness.Device.StopCount.ToArray()), Is.EqualTo(OncePerQueue));
            Assert.That(s.SendEvent([1]), Is.False, "nothing is written while the rings are stopped");
            Assert.That(s.EchoQueue.UsedIndex, Is.EqualTo(usedBefore), "a stopped ring is not processed");
        });
        s.AssertConfigAnswers();
        s.AssertBackendIntact();
    }

    [Test]
    public void Stop_and_cont_continue_from_the_returned_bases_without_resetting_the_device()
    {
        using var s = new CoreSession();
        s.AssertEchoWorks();
        s.AssertEchoWorks();
        var (event1, event1Gpa) = s.PostEventBuffer();
        var (event2, _) = s.PostEventBuffer();
        s.EventQueue.Notify();
        Assert.That(SpinWait.SpinUntil(() => s.HeldEvents() == 2, TestWait.Bound), Is.True);

        var bases = s.Vmm.StopDriver();
        Assert.That(bases, Is.EqualTo(new uint[] { 2, 2 }));
        // While the VM is stopped the guest cannot run; on cont QEMU replays §3.2 with the same rings and bases.
        s.StartDriver(newRings: false);

        Assert.Multiple(() =>
        {
            Assert.That(s.Harness.OnLoop(() => s.Harness.Device.ResetCount), Is.EqualTo(1), "stop/cont is not a reset");
            Assert.That(s.HeldEvents(), Is.EqualTo(2), "held event buffers survive stop/cont");
            Assert.That(s.Log.Contains("resetting the device"), Is.False, s.Log.Text);
        });

        // The buffers held before the stop go back to the same driver after cont.
        Assert.That(s.SendEvent([0xAB, 0xCD]), Is.True);
        Assert.That(s.SendEvent([0xEF]), Is.True);
        Assert.That(s.EventQueue.WaitUsed(TestWait.Bound), Is.EqualTo((event1, 2u)));
        Assert.That(s.EventQueue.WaitUsed(TestWait.Bound), Is.EqualTo((event2, 1u)));
        Assert.That(s.Ram.Span(event1Gpa, 2).ToArray(), Is.EqualTo(new byte[] { 0xAB, 0xCD }));

        // The echo ring continues where it was: the next request is avail entry 2 and lands in used entry 2.
        s.AssertEchoWorks();
        Assert.That(s.EchoQueue.UsedIndex, Is.EqualTo((ushort)3));
        Assert.That(s.Vmm.StopDriver(), Is.EqualTo(new uint[] { 3, 2 }));
        s.AssertBackendIntact();
    }

    [Test]
    public void Reboot_with_new_rings_and_base_zero_resets_the_device()
    {
        using var s = new CoreSession();
        s.AssertEchoWorks();
        var oldEventQueue = s.EventQueue;
        s.PostEventBuffer();
        s.EventQueue.Notify();
        Assert.That(SpinWait.SpinUntil(() => s.HeldEvents() == 1, TestWait.Bound), Is.True);

        s.RestartDriver();

        Assert.Multiple(() =>
        {
            Assert.That(s.Harness.OnLoop(() => s.Harness.Device.ResetCount), Is.EqualTo(2), "a new driver instance resets the device");
            Assert.That(s.HeldEvents(), Is.Zero, "buffers of the old driver instance are forgotten");
            Assert.That(s.Log.Contains("driver restarted with new rings: resetting the device"), Is.True, s.Log.Text);
        });
        Assert.That(s.SendEvent([1]), Is.False, "no old buffer is completed into the new rings");
        s.AssertEchoWorks();
        Assert.Multiple(() =>
        {
            Assert.That(s.EchoQueue.UsedIndex, Is.EqualTo((ushort)1), "the new ring starts at 0");
            Assert.That(oldEventQueue.UsedIndex, Is.Zero, "nothing is written into the old rings");
        });
        s.AssertEventQueueWorks();
        s.AssertBackendIntact();
    }

    [Test]
    public void Get_config_before_any_ring_returns_the_exact_config_bytes()
    {
        using var s = new CoreSession(start: false);

        var whole = s.Client.GetConfigBytes(0, 40);
        var part = s.Client.GetConfigBytes(4, 4);

        Assert.Multiple(() =>
        {
            Assert.That(whole.Length, Is.EqualTo(52));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(whole), Is.Zero, "offset echoed");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(whole.AsSpan(4)), Is.EqualTo(40u), "size echoed");
            Assert.That(whole.AsSpan(12).ToArray(), Is.EqualTo(EchoEventDevice.ExpectedConfig.ToArray()));
            Assert.That(part.AsSpan(12).ToArray(), Is.EqualTo(EchoEventDevice.ExpectedConfig[4..8].ToArray()));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(part), Is.EqualTo(4u));
        });
        Assert.That(s.Harness.OnLoop(() => s.Harness.Device.StartCount.Sum()), Is.Zero, "config reads need no ring");
    }

    [TestCase(36u, 8u)]
    [TestCase(0u, 41u)]
    [TestCase(41u, 0u)]
    [TestCase(0xFFFF_FFF0u, 0x20u)]
    [TestCase(0u, 300u)]
    public void Get_config_outside_the_config_space_gets_a_12_byte_reply_with_size_0(uint offset, uint size)
    {
        using var s = new CoreSession(start: false);

        var reply = s.Client.GetConfigBytes(offset, size);

        Assert.Multiple(() =>
        {
            Assert.That(reply.Length, Is.EqualTo(12));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4)), Is.Zero, "size 0 = failure");
            Assert.That(s.Log.Contains($"config read offset {offset} size {size}"), Is.True, s.Log.Text);
        });
        s.AssertConfigAnswers();
    }

    [Test]
    public void Get_config_whose_payload_disagrees_with_its_size_gets_a_12_byte_reply_with_size_0()
    {
        using var s = new CoreSession(start: false);
        var payload = new byte[12 + 10];
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), 40);

        s.Client.SendRaw(VhostUserClient.GetConfig, 0x1, payload);
        var reply = s.Client.ReadReply(VhostUserClient.GetConfig);

        Assert.That(reply.Length, Is.EqualTo(12));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4)), Is.Zero);
        s.AssertConfigAnswers();
    }

    [Test]
    public void Without_reply_ack_no_acks_are_sent_even_for_need_reply_or_refused_requests()
    {
        using var s = new CoreSession(replyAck: false);
        s.AssertEchoWorks();
        s.Vmm.StopDriver();
        s.StartDriver(newRings: true);
        // NEED_REPLY set although REPLY_ACK was not negotiated, on an accepted and on a refused request.
        s.Client.SendRaw(VhostUserClient.SetVringCall, 0x9, Wire.U64(0), [s.EchoQueue.Call.Fd]);
        s.Client.SendRaw(VhostUserClient.SetVringNum, 0x9, Wire.VringState(0, 3));
        s.Client.SendRaw(99, 0x9, []);

        // The first reply on the wire must be the one to this GET_FEATURES: no ack is queued before it.
        Assert.That(s.Client.RequestU64(VhostUserClient.GetFeatures), Is.EqualTo(OfferedFeatures));
        s.Harness.Sync();
        Assert.That(BytesPending(s.Client), Is.False, "nothing else was sent");
        s.AssertEchoWorks();
        s.AssertBackendIntact();
    }

    [Test]
    public void With_reply_ack_each_need_reply_request_is_acked_0_and_refusals_non_zero()
    {
        using var s = new CoreSession(replyAck: true);

        Assert.Multiple(() =>
        {
            Assert.That(s.Client.SendU64(VhostUserClient.SetVringCall, 0, [s.EchoQueue.Call.Fd]), Is.Zero, "accepted");
            Assert.That(s.Client.SendVringState(VhostUserClient.SetVringNum, 0, 3), Is.Not.Zero, "size 3 refused");
            Assert.That(s.Client.SendVringState(VhostUserClient.SetVringEnable, 7, 1), Is.Not.Zero, "queue 7 refused");
            Assert.That(s.Client.Send(VhostUserClient.SetConfig, new byte[12 + 4]), Is.Not.Zero, "read-only config");
            Assert.That(s.Client.Send(99, []), Is.Not.Zero, "unknown request refused");
            Assert.That(s.Client.Send(VhostUserClient.SetOwner, []), Is.Not.Zero, "second SET_OWNER refused");
        });

        // Without NEED_REPLY nothing comes back even with REPLY_ACK negotiated.
        s.Client.SendRaw(VhostUserClient.SetVringNum, 0x1, Wire.VringState(0, 5));
        Assert.That(s.Client.RequestU64(VhostUserClient.GetFeatures), Is.EqualTo(OfferedFeatures));
        s.Harness.Sync();
        Assert.That(BytesPending(s.Client), Is.False);
        s.AssertEchoWorks();
        s.AssertBackendIntact();
    }

    private static bool BytesPending(VhostUserClient client)
    {
        var probe = new byte[1];
        var fds = new List<FdHandle>();
        var n = client.Socket.Receive(probe, fds, nonBlocking: true, out _);
        fds.ForEach(f => f.Dispose());
        return n > 0;
    }
}
