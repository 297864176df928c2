using System.Buffers.Binary;
using Spectrum.Camera.Native;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// Bad vhost-user messages. Bad values in a well-formed message are refused (non-zero ack, one log line) and the
/// connection lives on; a broken byte stream (oversized or truncated message, bad header flags) ends the connection
/// with a protocol error. In every case nothing crashes and no fd leaks.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class MaliciousFrontendTests : CoreFixture
{
    [TestCase(0u)]
    [TestCase(3u)]
    [TestCase(96u)]
    [TestCase(2048u)]
    [TestCase(0x8000_0000u)]
    public void Set_vring_num_not_a_power_of_two_up_to_1024_is_refused(uint num)
    {
        using var s = new CoreSession(start: false);

        var ack = s.Client.SendVringState(VhostUserClient.SetVringNum, 0, num);

        Assert.Multiple(() =>
        {
            Assert.That(ack, Is.Not.Zero);
            Assert.That(s.Log.Text, Does.Contain($"queue 0 size {num} is not a power of two in 1..1024"));
        });
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Set_vring_num_refused_during_a_start_leaves_the_queue_without_a_size_so_it_does_not_start()
    {
        using var s = new CoreSession(start: false);
        s.StartDriver(newRings: true, beforeEnable: session =>
            Assert.That(session.Client.SendVringState(VhostUserClient.SetVringNum, 0, 3), Is.Not.Zero));

        // The start sequence had set 128; the refused size 3 must not leave that size in place: queue 0 has no size
        // now, so it stays stopped while queue 1 (untouched) runs.
        Assert.Multiple(() =>
        {
            Assert.That(s.Harness.OnLoop(() => s.Harness.Device.Queue(0)), Is.Null, "queue 0 runs without a valid size");
            Assert.That(s.Harness.OnLoop(() => s.Harness.Device.Queue(1)), Is.Not.Null, "queue 1 runs");
            Assert.That(s.Log.Text, Does.Contain("queue 0 size 3 is not a power of two in 1..1024; the queue has no size"));
        });

        // A valid size brings it up on the next start.
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Oversized_message_closes_the_connection_with_a_protocol_error()
    {
        using var s = new CoreSession(start: false);

        s.Client.SendRaw(VhostUserClient.SetConfig, 0x1, new byte[64], sizeOverride: 4097);

        AssertProtocolError(s, "payload size 4097 exceeds the 4096-byte limit");
        Assert.That(PeerClosed(s.Client), Is.True, "the backend closed the socket");
    }

    [Test]
    public void Message_of_exactly_4096_payload_bytes_is_read_and_refused_without_closing()
    {
        using var s = new CoreSession(start: false);

        var ack = s.Client.Send(VhostUserClient.SetConfig, new byte[4096]);

        Assert.That(ack, Is.Not.Zero);
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Message_truncated_mid_payload_ends_with_a_clear_error()
    {
        using var s = new CoreSession(start: false);

        s.Client.SendRaw(VhostUserClient.SetVringNum, 0x1, [0, 0, 0, 0], sizeOverride: 8);
        s.Client.Socket.Shutdown();

        AssertProtocolError(s, "connection closed mid-payload (4 of 8 bytes)");
    }

    [Test]
    public void Message_truncated_mid_header_ends_with_a_clear_error()
    {
        using var s = new CoreSession(start: false);

        s.Client.Socket.Send([1, 0, 0, 0, 1, 0]);
        s.Client.Socket.Shutdown();

        AssertProtocolError(s, "connection closed after 6 of 12 header bytes");
    }

    [Test]
    public void Truncated_message_with_fds_attached_closes_them()
    {
        using var s = new CoreSession(start: false);
        using var kick = EventFd.Create();

        s.Client.SendRaw(VhostUserClient.SetVringKick, 0x1, [0, 0], [kick.Fd], sizeOverride: 8);
        s.Client.Socket.Shutdown();

        AssertProtocolError(s, "connection closed mid-payload (2 of 8 bytes)");
    }

    [TestCase(0x0u, "version is not 1")]
    [TestCase(0x2u, "version is not 1")]
    [TestCase(0x5u, "has REPLY or reserved bits set")]
    [TestCase(0x11u, "has REPLY or reserved bits set")]
    public void Bad_header_flags_close_the_connection_with_a_protocol_error(uint flags, string expected)
    {
        using var s = new CoreSession(start: false);

        s.Client.SendRaw(VhostUserClient.GetFeatures, flags, []);

        AssertProtocolError(s, expected);
    }

    [Test]
    public void Unexpected_fds_on_a_message_that_takes_none_are_closed_and_the_request_refused()
    {
        using var s = new CoreSession(start: false);
        using var stray1 = EventFd.Create();
        using var stray2 = EventFd.Create();
        var before = FdLeakCheck.CountProjectFds();

        var ack = s.Client.Send(VhostUserClient.SetVringNum, Wire.VringState(0, 64), [stray1.Fd, stray2.Fd]);
        s.Harness.Sync();

        Assert.Multiple(() =>
        {
            Assert.That(ack, Is.Not.Zero, "refused");
            Assert.That(s.Log.Text, Does.Contain("2 fds attached, expected 0 (they were closed)"));
            Assert.That(FdLeakCheck.CountProjectFds(), Is.EqualTo(before), "the backend's copies are closed");
        });
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Unexpected_fd_on_get_features_is_closed_and_the_features_still_answered()
    {
        using var s = new CoreSession(start: false);
        using var stray = EventFd.Create();
        var before = FdLeakCheck.CountProjectFds();

        s.Client.SendRaw(VhostUserClient.GetFeatures, 0x1, [], [stray.Fd]);
        var features = BinaryPrimitives.ReadUInt64LittleEndian(s.Client.ReadReply(VhostUserClient.GetFeatures));
        s.Harness.Sync();

        Assert.Multiple(() =>
        {
            Assert.That(features, Is.EqualTo(0x1_7000_0000UL));
            Assert.That(s.Log.Text, Does.Contain("1 fds attached, expected 0"));
            Assert.That(FdLeakCheck.CountProjectFds(), Is.EqualTo(before));
        });
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Two_fds_on_set_vring_kick_are_both_closed_and_the_request_refused()
    {
        using var s = new CoreSession(start: false);
        using var a = EventFd.Create();
        using var b = EventFd.Create();
        var before = FdLeakCheck.CountProjectFds();

        var ack = s.Client.SendU64(VhostUserClient.SetVringKick, 0, [a.Fd, b.Fd]);
        s.Harness.Sync();

        Assert.Multiple(() =>
        {
            Assert.That(ack, Is.Not.Zero);
            Assert.That(FdLeakCheck.CountProjectFds(), Is.EqualTo(before));
        });
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Vring_fd_message_without_its_fd_is_refused()
    {
        using var s = new CoreSession(start: false);

        var ack = s.Client.SendU64(VhostUserClient.SetVringCall, 1);

        Assert.Multiple(() =>
        {
            Assert.That(ack, Is.Not.Zero);
            Assert.That(s.Log.Text, Does.Contain("0 fds attached, expected 1"));
        });
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Kick_call_or_err_fd_that_is_not_an_eventfd_is_refused_while_the_ring_runs()
    {
        // A running ring watches a new kick fd at once; epoll refuses regular files, which used to throw on the loop.
        using var s = new CoreSession();
        using var memfd = MemFd.Create("not-an-eventfd", 4096);

        var kickAck = s.Client.SendU64(VhostUserClient.SetVringKick, 0, [memfd.Fd]);
        var callAck = s.Client.SendU64(VhostUserClient.SetVringCall, 0, [memfd.Fd]);
        var errAck = s.Client.SendU64(VhostUserClient.SetVringErr, 0, [s.Ram.Fd.Fd]);

        Assert.Multiple(() =>
        {
            Assert.That(kickAck, Is.Not.Zero, "kick");
            Assert.That(callAck, Is.Not.Zero, "call");
            Assert.That(errAck, Is.Not.Zero, "err");
            Assert.That(s.Log.Text, Does.Contain("queue 0: the Kick fd is not an eventfd"));
        });
        s.AssertEchoWorks();
        Assert.That(s.Ram.Span(0, 8).ToArray(), Is.All.EqualTo(GuestCanary.Value), "no signal was written into guest RAM");
        AssertServingAfterRestart(s);
    }

    [TestCase(13u)]
    [TestCase(0x1FFu)]
    public void Vring_fd_message_with_reserved_bits_or_a_bad_index_is_refused(uint value)
    {
        using var s = new CoreSession(start: false);
        using var fd = EventFd.Create();

        Assert.That(s.Client.SendU64(VhostUserClient.SetVringCall, value, [fd.Fd]), Is.Not.Zero);
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Memory_region_larger_than_its_fd_is_refused()
    {
        // Mapping past the end of the file would succeed, and the first guest access there would kill the process
        // with SIGBUS.
        using var s = new CoreSession(start: false);
        var table = Wire.MemTable((0, s.Ram.Size * 2, s.Ram.UserAddressOf(0), 0));

        var ack = s.Client.Send(VhostUserClient.SetMemTable, table, [s.Ram.Fd.Fd]);

        Assert.Multiple(() =>
        {
            Assert.That(ack, Is.Not.Zero);
            Assert.That(s.Log.Text, Does.Contain("memory table rejected"));
        });
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Memory_region_with_mmap_offset_past_its_fd_is_refused()
    {
        using var s = new CoreSession(start: false);
        var table = Wire.MemTable((0, 0x10000, s.Ram.UserAddressOf(0), s.Ram.Size));

        Assert.That(s.Client.Send(VhostUserClient.SetMemTable, table, [s.Ram.Fd.Fd]), Is.Not.Zero);
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Memory_table_with_overlapping_wrapping_or_empty_regions_is_refused()
    {
        using var s = new CoreSession(start: false);
        var fd = s.Ram.Fd.Fd;
        var uva = s.Ram.UserAddressOf(0);

        Assert.Multiple(() =>
        {
            Assert.That(s.Client.Send(VhostUserClient.SetMemTable, Wire.MemTable((0, 0x20000, uva, 0), (0x10000, 0x20000, uva, 0)), [fd, fd]),
                Is.Not.Zero, "overlap");
            Assert.That(s.Client.Send(VhostUserClient.SetMemTable, Wire.MemTable((0xFFFF_FFFF_FFFF_0000, 0x20000, uva, 0)), [fd]),
                Is.Not.Zero, "gpa wrap");
            Assert.That(s.Client.Send(VhostUserClient.SetMemTable, Wire.MemTable((0, 0, uva, 0)), [fd]), Is.Not.Zero, "empty");
            Assert.That(s.Client.Send(VhostUserClient.SetMemTable, Wire.MemTable(), []), Is.Not.Zero, "no regions");
            Assert.That(s.Client.Send(VhostUserClient.SetMemTable, Wire.MemTable((0, 0x1000, uva, 0)), []), Is.Not.Zero, "fd missing");
        });
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Memory_table_of_nine_regions_is_refused_and_its_fds_closed()
    {
        using var s = new CoreSession(start: false);
        var regions = Enumerable.Range(0, 9).Select(i => ((ulong)i * 0x1000, 0x1000UL, s.Ram.UserAddressOf((ulong)i * 0x1000), (ulong)i * 0x1000)).ToArray();
        var before = FdLeakCheck.CountProjectFds();

        var ack = s.Client.Send(VhostUserClient.SetMemTable, Wire.MemTable(regions), Enumerable.Repeat(s.Ram.Fd.Fd, 9).ToArray());
        s.Harness.Sync();

        Assert.Multiple(() =>
        {
            Assert.That(ack, Is.Not.Zero);
            Assert.That(s.Log.Text, Does.Contain("memory table has 9 regions, expected 1..8"));
            Assert.That(FdLeakCheck.CountProjectFds(), Is.EqualTo(before));
        });
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Ring_addresses_outside_guest_memory_keep_the_queue_stopped_and_signal_err()
    {
        using var s = new CoreSession(start: false);
        s.Vmm.StartDriver(newRings: true, beforeEnable: v =>
        {
            foreach (var q in v.Queues)
            {
                s.Canary.AdoptRings(q);
            }

            Assert.That(v.Client.SendU64(VhostUserClient.SetVringErr, 0, [v.Queues[0].Err.Fd]), Is.Zero);
            Assert.That(v.Client.SendVringAddress(0, 0x10, 0x20, 0x30), Is.Zero, "addresses are checked when the ring starts");
        });
        s.Harness.Sync();

        Assert.Multiple(() =>
        {
            Assert.That(s.Log.Text, Does.Contain("queue 0 cannot start: ring addresses desc 0x10 avail 0x30 used 0x20"));
            Assert.That(s.EchoQueue.Err.Consume(), Is.Not.Zero, "err eventfd signalled");
            Assert.That(s.Harness.OnLoop(() => s.Harness.Device.Queue(0)), Is.Null, "queue 0 does not run");
        });
        s.AssertEventQueueWorks();
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Changing_size_addresses_base_or_features_while_a_ring_runs_is_refused()
    {
        using var s = new CoreSession();
        var q = s.EchoQueue;

        Assert.Multiple(() =>
        {
            Assert.That(s.Client.SendVringState(VhostUserClient.SetVringNum, 0, 64), Is.Not.Zero, "num");
            Assert.That(s.Client.SendVringState(VhostUserClient.SetVringBase, 0, 5), Is.Not.Zero, "base");
            Assert.That(s.Client.SendVringAddress(0, s.Ram.UserAddressOf(q.DescGpa), s.Ram.UserAddressOf(q.UsedGpa), 0), Is.Not.Zero, "addr");
            Assert.That(s.Client.SendU64(VhostUserClient.SetFeatures, 0x1_4000_0000), Is.Not.Zero, "features");
            Assert.That(s.Client.SendVringState(VhostUserClient.SetVringBase, 1, 0x1_0000), Is.Not.Zero, "base above 16 bits");
        });
        s.AssertEchoWorks();
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Features_or_protocol_features_never_offered_are_refused()
    {
        using var s = new CoreSession(start: false);

        Assert.Multiple(() =>
        {
            Assert.That(s.Client.SendU64(VhostUserClient.SetFeatures, 0x1_7000_0000UL | (1UL << 34)), Is.Not.Zero, "PACKED");
            Assert.That(s.Client.SendU64(VhostUserClient.SetProtocolFeatures, 0x209 | (1UL << 14)), Is.Not.Zero, "INBAND");
        });
        AssertServingAfterRestart(s);
    }

    [TestCase(VhostUserClient.SetVringNum, 4)]
    [TestCase(VhostUserClient.SetVringEnable, 12)]
    [TestCase(VhostUserClient.SetVringAddr, 32)]
    [TestCase(VhostUserClient.SetFeatures, 0)]
    [TestCase(VhostUserClient.SetMemTable, 4)]
    [TestCase(VhostUserClient.SetMemTable, 41)]
    public void Payload_of_the_wrong_size_is_refused(uint request, int size)
    {
        using var s = new CoreSession(start: false);

        Assert.That(s.Client.Send(request, new byte[size]), Is.Not.Zero);
        AssertServingAfterRestart(s);
    }

    [Test]
    public void Get_vring_base_with_a_bad_payload_or_index_answers_without_stopping_anything()
    {
        using var s = new CoreSession();

        s.Client.SendRaw(VhostUserClient.GetVringBase, 0x1, [1, 2, 3]);
        var shortReply = s.Client.ReadReply(VhostUserClient.GetVringBase);
        s.Client.SendRaw(VhostUserClient.GetVringBase, 0x1, Wire.VringState(9, 0));
        var badIndex = s.Client.ReadReply(VhostUserClient.GetVringBase);

        Assert.Multiple(() =>
        {
            Assert.That(shortReply, Has.Length.EqualTo(8));
            Assert.That(badIndex, Has.Length.EqualTo(8));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(badIndex), Is.EqualTo(9u));
        });
        s.AssertEchoWorks();
        s.AssertEventQueueWorks();
        AssertServingAfterRestart(s);
    }

    /// <summary>The connection lives: GET_CONFIG answers, and a driver (re)start brings both queues up.</summary>
    private static void AssertServingAfterRestart(CoreSession s)
    {
        s.AssertConfigAnswers();
        s.Vmm.StopDriver();
        s.StartDriver(newRings: true);
        s.AssertEchoWorks();
        s.AssertEventQueueWorks();
        s.AssertBackendIntact();
    }

    private static void AssertProtocolError(CoreSession s, string expected)
    {
        Assert.That(s.Harness.WaitForDisconnect(), Is.True, "the backend ended the connection");
        Assert.Multiple(() =>
        {
            Assert.That(s.Harness.Disconnect, Is.EqualTo(VhostUserBackend.DisconnectReason.ProtocolError));
            Assert.That(s.Harness.DisconnectDetail, Does.Contain(expected));
            Assert.That(s.Log.Text, Does.Contain("protocol error, closing the connection: ").And.Contain(expected));
            Assert.That(s.Harness.LoopException, Is.Null, "no exception escaped the loop");
            Assert.That(s.Canary.FirstDamage(), Is.Null);
        });
    }

    /// <summary>True once the backend's end is closed: EOF, or ECONNRESET when it closed with our bytes unread.</summary>
    private static bool PeerClosed(VhostUserClient client)
    {
        try
        {
            return client.WaitForClose(TestWait.Bound);
        }
        catch (NativeException e) when (e.Errno == 104)
        {
            return true;
        }
    }
}
