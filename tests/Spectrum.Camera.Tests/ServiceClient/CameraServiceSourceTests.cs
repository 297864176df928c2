using Spectrum.Camera.Frames;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.ServiceClient;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Core;
using Kind = Spectrum.Camera.Protocol.Service.SidecarMessage.KindOneofCase;

namespace Spectrum.Camera.Tests.ServiceClient;

/// <summary>
/// The sidecar's camera-service client against a scripted service over a real seqpacket socket, with real sealed
/// memfd rings. No test measures time: waits are for events (bounded only so a broken client cannot hang the run),
/// and the two sleeps are past the 2 s freshness limit on purpose.
/// </summary>
public sealed class CameraServiceSourceTests : CoreFixture
{
    private static readonly FrameFormat Yuyv = new(PixelFormats.Yuyv, 320, 240);
    private static readonly FrameRate Rate = FrameRate.FromFps(30);

    private ClientHarness? _harness;

    private ClientHarness H => _harness!;

    [TearDown]
    public void StopHarness()
    {
        var failure = _harness?.LoopFailure;
        _harness?.Dispose();
        _harness = null;
        Assert.That(failure, Is.Null, "an exception escaped the device loop");
    }

    [Test]
    public void Hello_names_the_vm_and_protocol_version_1()
    {
        _harness = new ClientHarness();
        var hello = H.Service.Welcome(allowed: false);
        Assert.That(hello.ProtocolVersion, Is.EqualTo(1u));
        Assert.That(hello.Vm, Is.EqualTo(ClientHarness.VmName));
        Assert.That(H.WaitUntil(s => s.IsConnected), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(H.OnLoop(s => s.IsAllowed), Is.False);
            Assert.That(H.OnLoop(s => s.Connections), Is.EqualTo(1UL));
            Assert.That(H.Log.Text, Does.Contain("connected to the camera service at " + H.Service.Path));
        });
    }

    [Test]
    public void StartStream_carries_format_interval_and_size_and_stop_sends_counters_then_StopStream()
    {
        _harness = new ClientHarness();
        H.Service.Welcome(allowed: true);
        var nv12 = new FrameFormat(PixelFormats.Nv12, 640, 480);
        H.StreamStarted(nv12, new FrameRate(1, 15));
        var start = H.Service.Expect(Kind.StartStream).StartStream;
        Assert.Multiple(() =>
        {
            Assert.That(start.PixelFormat, Is.EqualTo(PixelFormats.Nv12));
            Assert.That(start.Width, Is.EqualTo(640u));
            Assert.That(start.Height, Is.EqualTo(480u));
            Assert.That(start.IntervalNumerator, Is.EqualTo(1u));
            Assert.That(start.IntervalDenominator, Is.EqualTo(15u));
            Assert.That(start.SizeImage, Is.EqualTo(640u * 480 * 3 / 2));
        });

        H.Render(nv12);
        H.Render(nv12);
        H.StreamStopped();
        var counters = H.Service.Expect(Kind.Counters).Counters;
        Assert.That((counters.CameraFrames, counters.BlackFrames), Is.EqualTo((0UL, 2UL)));
        H.Service.Expect(Kind.StopStream);
    }

    [Test]
    public void An_allowed_vm_with_a_ring_and_FrameReady_renders_exactly_the_ring_frame()
    {
        _harness = new ClientHarness();
        using var ring = StartAllowedStream(Yuyv);
        var published = H.Service.Publish(ring, Yuyv, frameNumber: 1234, sequence: 7);
        H.Service.SetPermission(allowed: true); // barrier: the FrameReady was handled

        var (content, bytes) = H.Render(Yuyv, frameNumber: 5);
        Assert.That(content, Is.EqualTo(FrameContent.Camera));
        Assert.That(bytes, Is.EqualTo(published));
        Assert.That(TestPatternVerifier.TryDecode(Yuyv, bytes, out var number, out var exact), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(number, Is.EqualTo(1234u), "the ring's frame, not the sidecar's frame number");
            Assert.That(exact, Is.True);
            Assert.That(H.OnLoop(s => (s.CameraFrames, s.BlackFrames, s.TornFrames)), Is.EqualTo((1UL, 0UL, 0UL)));
        });
    }

    [Test]
    public void Every_format_is_copied_whole([Values(PixelFormats.Yuyv, PixelFormats.Nv12, PixelFormats.Yu12)] uint fourcc)
    {
        _harness = new ClientHarness();
        var format = new FrameFormat(fourcc, 160, 120);
        using var ring = StartAllowedStream(format);
        var published = H.Service.Publish(ring, format, frameNumber: 3, sequence: 1);
        H.Service.SetPermission(allowed: true);
        var (content, bytes) = H.Render(format);
        Assert.That(content, Is.EqualTo(FrameContent.Camera));
        Assert.That(bytes, Is.EqualTo(published));
    }

    [Test]
    public void A_deny_makes_the_very_next_frame_black_and_is_acknowledged_with_its_generation()
    {
        _harness = new ClientHarness();
        using var ring = StartAllowedStream(Yuyv);
        H.Service.Publish(ring, Yuyv, frameNumber: 1, sequence: 1);
        H.Service.SetPermission(allowed: true);
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Camera));

        // SetPermission returns once the ack with the deny's generation arrived.
        var generation = H.Service.SetPermission(allowed: false);
        var (content, bytes) = H.Render(Yuyv);
        Assert.Multiple(() =>
        {
            Assert.That(generation, Is.GreaterThan(0UL));
            Assert.That(content, Is.EqualTo(FrameContent.Black));
            Assert.That(TestPatternVerifier.IsBlack(Yuyv, bytes), Is.True);
            Assert.That(H.OnLoop(s => s.IsAllowed), Is.False);
        });

        // The old ring is gone: announcing into it again shows nothing, nor does a new ring while denied.
        H.Service.Publish(ring, Yuyv, frameNumber: 2, sequence: 2);
        using var another = new FrameRingWriter(4, (int)Yuyv.SizeImage);
        H.Service.Attach(another, Yuyv);
        H.Service.Publish(another, Yuyv, frameNumber: 3, sequence: 3);
        H.Service.SetPermission(allowed: false);
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Black));

        // Allowed again: frames flow once a ring is attached.
        H.Service.SetPermission(allowed: true);
        using var fresh = new FrameRingWriter(4, (int)Yuyv.SizeImage);
        H.Service.Attach(fresh, Yuyv);
        var published = H.Service.Publish(fresh, Yuyv, frameNumber: 4, sequence: 4);
        H.Service.SetPermission(allowed: true);
        var again = H.Render(Yuyv);
        Assert.That(again.Content, Is.EqualTo(FrameContent.Camera));
        Assert.That(again.Bytes, Is.EqualTo(published));
    }

    [Test]
    public void A_frame_older_than_the_freshness_limit_is_not_shown()
    {
        _harness = new ClientHarness();
        using var ring = StartAllowedStream(Yuyv);
        H.Service.Publish(ring, Yuyv, frameNumber: 1, sequence: 1);
        H.Service.SetPermission(allowed: true);
        Thread.Sleep(TimeSpan.FromMilliseconds((CameraServiceSource.FreshnessNanoseconds / 1_000_000) + 300)); // past the freshness limit by design, not a measurement
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Black));
        Assert.That(H.OnLoop(s => s.StaleFrames), Is.EqualTo(1UL), "counted stale");

        H.Service.Publish(ring, Yuyv, frameNumber: 2, sequence: 2);
        H.Service.SetPermission(allowed: true);
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Camera));
    }

    [Test]
    public void A_frame_announced_while_the_loop_was_behind_is_shown_though_the_last_frame_it_read_is_past_the_freshness_limit()
    {
        _harness = new ClientHarness();
        using var ring = StartAllowedStream(Yuyv);
        H.Service.Publish(ring, Yuyv, frameNumber: 1, sequence: 1);
        H.Service.SetPermission(allowed: true);
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Camera));
        var sink = new MemoryFrameSink((int)Yuyv.SizeImage);

        // On the loop, as a sidecar whose thread was not scheduled for longer than the freshness limit sees it: the
        // camera went on, frame 2's FrameReady waits on the socket, and the frame the loop read last is old.
        var (content, stale) = H.OnLoop(s =>
        {
            Thread.Sleep(TimeSpan.FromMilliseconds((CameraServiceSource.FreshnessNanoseconds / 1_000_000) + 300)); // past the freshness limit by design, not a measurement
            H.Service.Publish(ring, Yuyv, frameNumber: 2, sequence: 2);
            return (s.Render(Yuyv, 0, sink), s.StaleFrames);
        });

        Assert.Multiple(() =>
        {
            Assert.That(content, Is.EqualTo(FrameContent.Camera), "the announced frame, not black");
            Assert.That(TestPatternVerifier.TryDecode(Yuyv, sink.WrittenMemory.ToArray(), out var number, out _), Is.True);
            Assert.That(number, Is.EqualTo(2u));
            Assert.That(stale, Is.Zero, "no frame counted stale");
        });
    }

    [Test]
    public void A_frame_overwritten_in_its_slot_before_the_copy_renders_black_and_is_counted()
    {
        _harness = new ClientHarness();
        using var ring = StartAllowedStream(Yuyv, slots: 2);
        H.Service.Publish(ring, Yuyv, frameNumber: 1, sequence: 1);
        H.Service.SetPermission(allowed: true);
        ScriptedService.WriteFrame(ring, Yuyv, 2, 2, out _);
        ScriptedService.WriteFrame(ring, Yuyv, 3, 3, out _); // slot of sequence 1 again
        var (content, bytes) = H.Render(Yuyv);
        Assert.Multiple(() =>
        {
            Assert.That(content, Is.EqualTo(FrameContent.Black));
            Assert.That(TestPatternVerifier.IsBlack(Yuyv, bytes), Is.True);
            Assert.That(H.OnLoop(s => (s.OverwrittenFrames, s.CameraFrames)), Is.EqualTo((1UL, 0UL)));
        });
    }

    [Test]
    public void A_frame_overwritten_in_its_slot_is_replaced_by_the_newer_frame_whose_announcement_waits_on_the_socket()
    {
        _harness = new ClientHarness();
        using var ring = StartAllowedStream(Yuyv, slots: 2);
        H.Service.Publish(ring, Yuyv, frameNumber: 1, sequence: 1);
        H.Service.SetPermission(allowed: true);
        ScriptedService.WriteFrame(ring, Yuyv, 2, 2, out _);
        var sink = new MemoryFrameSink((int)Yuyv.SizeImage);

        // On the loop, as a loaded sidecar sees it: frame 3 overwrote frame 1's slot and its FrameReady is already on
        // the socket, but the loop has not read it yet when the device asks for a frame.
        var content = H.OnLoop(s =>
        {
            H.Service.Publish(ring, Yuyv, frameNumber: 3, sequence: 3);
            return s.Render(Yuyv, 0, sink);
        });

        Assert.Multiple(() =>
        {
            Assert.That(content, Is.EqualTo(FrameContent.Camera));
            Assert.That(TestPatternVerifier.TryDecode(Yuyv, sink.WrittenMemory.ToArray(), out var number, out _), Is.True);
            Assert.That(number, Is.EqualTo(3u), "the newer frame, not black");
            Assert.That(H.OnLoop(s => (s.OverwrittenFrames, s.CameraFrames)), Is.EqualTo((0UL, 1UL)));
        });
    }

    [Test]
    public void A_stream_moved_to_a_fresh_ring_shows_the_old_rings_newest_frame_until_the_new_ring_has_one()
    {
        _harness = new ClientHarness();
        using var first = StartAllowedStream(Yuyv);
        H.Service.Publish(first, Yuyv, frameNumber: 10, sequence: 1);

        // Another VM left the group: the service moves the stream to a fresh ring and never writes the old one again.
        using var second = new FrameRingWriter(4, (int)Yuyv.SizeImage);
        H.Service.Attach(second, Yuyv);
        H.Service.SetPermission(allowed: true);
        var bridged = H.Render(Yuyv);
        Assert.That(TestPatternVerifier.TryDecode(Yuyv, bridged.Bytes, out var bridgedNumber, out _), Is.True, "not black");
        Assert.That((bridged.Content, bridgedNumber), Is.EqualTo((FrameContent.Camera, 10u)));

        H.Service.Publish(second, Yuyv, frameNumber: 11, sequence: 2);
        H.Service.SetPermission(allowed: true);
        var moved = H.Render(Yuyv);
        Assert.That(TestPatternVerifier.TryDecode(Yuyv, moved.Bytes, out var movedNumber, out _), Is.True);
        Assert.That((moved.Content, movedNumber), Is.EqualTo((FrameContent.Camera, 11u)), "the new ring's frame");

        // A frame announced in the old ring now is not shown: that ring is retired.
        H.Service.Publish(first, Yuyv, frameNumber: 12, sequence: 3);
        H.Service.SetPermission(allowed: true);
        Assert.That(TestPatternVerifier.TryDecode(Yuyv, H.Render(Yuyv).Bytes, out var after, out _) ? after : 0u, Is.EqualTo(11u));
    }

    [Test]
    public void A_deny_right_after_a_ring_move_forgets_both_rings()
    {
        _harness = new ClientHarness();
        using var first = StartAllowedStream(Yuyv);
        H.Service.Publish(first, Yuyv, frameNumber: 10, sequence: 1);
        using var second = new FrameRingWriter(4, (int)Yuyv.SizeImage);
        H.Service.Attach(second, Yuyv);
        H.Service.SetPermission(allowed: false); // returns with the sidecar's acknowledgement
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Black));
    }

    [Test]
    public void A_camera_state_other_than_streaming_drops_the_announced_frame_and_is_logged_once()
    {
        _harness = new ClientHarness();
        using var ring = StartAllowedStream(Yuyv);
        H.Service.Send(new ServiceMessage { CameraState = new CameraState { State = CameraState.Types.State.Streaming } });
        H.Service.Publish(ring, Yuyv, frameNumber: 1, sequence: 1);
        H.Service.SetPermission(allowed: true);
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Camera));

        for (var i = 0; i < 3; i++)
        {
            H.Service.Send(new ServiceMessage
            {
                CameraState = new CameraState { State = CameraState.Types.State.Unavailable, Detail = "ENODEV from /dev/video0" },
            });
        }

        H.Service.SetPermission(allowed: true);
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Black));
        Assert.That(CountOccurrences(H.Log.Text, "camera unavailable"), Is.EqualTo(1), H.Log.Text);
        Assert.That(H.Log.Text, Does.Contain("ENODEV from /dev/video0"));
    }

    [Test]
    public void StreamCounters_report_what_was_written_while_streaming()
    {
        _harness = new ClientHarness();
        using var ring = StartAllowedStream(Yuyv);
        for (var i = 1u; i <= 3; i++)
        {
            H.Service.Publish(ring, Yuyv, frameNumber: i, sequence: i);
            H.Service.SetPermission(allowed: true);
            Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Camera));
        }

        H.Service.SetPermission(allowed: false);
        H.Render(Yuyv);

        // Reports come about once a second; wait for one that includes all four frames.
        StreamCounters counters;
        do
        {
            counters = H.Service.Expect(Kind.Counters).Counters;
        }
        while (counters.CameraFrames + counters.BlackFrames < 4);

        Assert.That((counters.CameraFrames, counters.BlackFrames), Is.EqualTo((3UL, 1UL)));
    }

    [Test]
    public void Render_allocates_nothing_per_frame()
    {
        _harness = new ClientHarness();
        using var ring = StartAllowedStream(Yuyv);
        H.Service.Publish(ring, Yuyv, frameNumber: 1, sequence: 1);
        H.Service.SetPermission(allowed: true);
        var sink = new MemoryFrameSink((int)Yuyv.SizeImage);
        var (cameraBytes, blackBytes) = H.OnLoop(s =>
        {
            for (var i = 0; i < 8; i++)
            {
                sink.Reset();
                s.Render(Yuyv, 0, sink);
                sink.Reset();
                s.Render(Yuyv with { Width = 160 }, 0, sink); // format mismatch: black
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 100; i++)
            {
                sink.Reset();
                s.Render(Yuyv, (uint)i, sink);
            }

            var camera = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 100; i++)
            {
                sink.Reset();
                s.Render(Yuyv with { Width = 160 }, (uint)i, sink);
            }

            return (camera, GC.GetAllocatedBytesForCurrentThread() - before);
        });
        Assert.That(H.OnLoop(s => s.CameraFrames), Is.EqualTo(108UL), "the camera path was the one measured");
        Assert.That((cameraBytes, blackBytes), Is.EqualTo((0L, 0L)));
    }

    [Test]
    public void An_unsealed_memfd_ring_is_rejected_and_its_fd_closed()
    {
        _harness = new ClientHarness();
        StartAllowedStream(Yuyv, attach: false).Dispose();
        var layout = FrameRingLayout.For(4, (int)Yuyv.SizeImage);
        using (var unsealed = MemFd.Create("unsealed-test-ring", (ulong)layout.TotalSize))
        {
            H.Service.Send(ScriptedService.RingMessage(9001, layout, Yuyv), unsealed);
            H.Service.Send(new ServiceMessage { FrameReady = new FrameReady { RingId = 9001, Slot = 0, Sequence = 0 } });
            H.Service.SetPermission(allowed: true);
            Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Black));
            Assert.That(CountMemFds("unsealed-test-ring"), Is.EqualTo(1), "only the test's own fd is open");
        }

        Assert.That(H.Log.Text, Does.Contain("not a sealed memfd"));
        AssertStillServes();
    }

    [Test]
    public void A_ring_whose_memfd_size_disagrees_with_the_message_is_rejected()
    {
        _harness = new ClientHarness();
        StartAllowedStream(Yuyv, attach: false).Dispose();
        using var small = new FrameRingWriter(4, 4096);
        var claimed = FrameRingLayout.For(4, (int)Yuyv.SizeImage);
        H.Service.Send(ScriptedService.RingMessage(small.Id, claimed, Yuyv), small.Fd);
        H.Service.Publish(small, new FrameFormat(PixelFormats.Yuyv, 64, 32), frameNumber: 1, sequence: 1);
        H.Service.SetPermission(allowed: true);
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Black));
        Assert.That(H.Log.Text, Does.Contain("ring memfd has"));
        Assert.That(CountMemFds($"spectrum-camera-ring-{small.Id}"), Is.EqualTo(1), "only the test's own fd is open");
        AssertStillServes();
    }

    [Test]
    public void A_ring_of_another_format_is_ignored()
    {
        _harness = new ClientHarness();
        StartAllowedStream(Yuyv, attach: false).Dispose();
        var other = new FrameFormat(PixelFormats.Yuyv, 640, 480);
        using var ring = new FrameRingWriter(4, (int)other.SizeImage);
        H.Service.Attach(ring, other);
        H.Service.Publish(ring, other, frameNumber: 1, sequence: 1);
        H.Service.SetPermission(allowed: true);
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Black));
        Assert.That(H.Render(other).Content, Is.EqualTo(FrameContent.Black), "not the guest's format either");
        Assert.That(H.Log.Text, Does.Contain("ignored ring"));
        AssertStillServes();
    }

    [Test]
    public void RingAttached_without_an_fd_drops_the_connection_and_reconnects()
    {
        _harness = new ClientHarness();
        StartAllowedStream(Yuyv, attach: false).Dispose();
        H.Service.Send(ScriptedService.RingMessage(5, FrameRingLayout.For(4, (int)Yuyv.SizeImage), Yuyv));
        AssertReconnectsAndResumes("RingAttached without its memfd");
    }

    [Test]
    public void A_packet_larger_than_4096_bytes_drops_the_connection_and_reconnects()
    {
        _harness = new ClientHarness();
        StartAllowedStream(Yuyv, attach: false).Dispose();
        H.Service.SendRaw(new byte[5000]);
        AssertReconnectsAndResumes("larger than 4096");
    }

    [Test]
    public void Garbage_bytes_drop_the_connection_and_reconnect()
    {
        _harness = new ClientHarness();
        StartAllowedStream(Yuyv, attach: false).Dispose();
        H.Service.SendRaw([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12]);
        AssertReconnectsAndResumes("unparsable");
    }

    [Test]
    public void A_message_before_Welcome_is_a_protocol_error()
    {
        _harness = new ClientHarness();
        H.Service.Accept();
        H.Service.Expect(Kind.Hello);
        H.Service.Send(new ServiceMessage { Permission = new Permission { Allowed = true, Generation = 1 } });
        H.Service.ExpectClosed();
        Assert.That(H.Log.WaitFor("Permission before Welcome"), Is.True, H.Log.Text);
        Assert.That(H.OnLoop(s => s.IsAllowed), Is.False);
        H.Service.Welcome(allowed: true);
        Assert.That(H.WaitUntil(s => s.IsConnected), Is.True);
    }

    [Test]
    public void A_service_that_never_answers_Hello_is_dropped_and_tried_again()
    {
        _harness = new ClientHarness();
        H.Service.Accept();
        H.Service.Expect(Kind.Hello);
        H.Service.ExpectClosed(); // after HandshakeTicks seconds without Welcome
        Assert.That(H.Log.WaitFor("no Welcome from the camera service"), Is.True, H.Log.Text);
        H.Service.Welcome(allowed: true);
        Assert.That(H.WaitUntil(s => s.IsConnected), Is.True);
    }

    [Test]
    public void A_service_that_stops_reading_is_dropped_when_its_queue_is_full()
    {
        _harness = new ClientHarness();
        H.Service.Welcome(allowed: true);
        Assert.That(H.WaitUntil(s => s.IsConnected), Is.True);

        // Every Permission is acknowledged; the test never reads the acks, so the client's sends fill the queue.
        var channel = H.Service.Channel!;
        for (var generation = 1UL; generation <= 100_000 && H.OnLoop(s => s.IsConnected); generation++)
        {
            try
            {
                if (!channel.TrySend(new ServiceMessage { Permission = new Permission { Allowed = true, Generation = generation } }))
                {
                    Thread.Sleep(1); // the client is behind; it catches up on its loop
                }
            }
            catch (NativeException e) when (e.IsPeerGone)
            {
                break;
            }
        }

        Assert.That(H.Log.WaitFor("its queue is full"), Is.True, H.Log.Text);
        H.Service.ExpectClosed();
        H.Service.Welcome(allowed: true);
        Assert.That(H.WaitUntil(s => s.IsConnected && s.Connections == 2), Is.True);
    }

    [Test]
    public void A_service_absent_at_start_is_connected_to_once_it_appears()
    {
        _harness = new ClientHarness(listen: false);
        H.StreamStarted(Yuyv, Rate);
        Assert.That(H.Log.WaitFor("camera service not reachable at " + H.Service.Path), Is.True, H.Log.Text);
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Black));

        H.Service.Listen();
        H.Service.Welcome(allowed: true);
        var start = H.Service.Expect(Kind.StartStream).StartStream;
        Assert.That((start.Width, start.Height), Is.EqualTo((Yuyv.Width, Yuyv.Height)));
        Assert.That(H.WaitUntil(s => s.IsConnected), Is.True);
        Assert.That(CountOccurrences(H.Log.Text, "No such file or directory"), Is.EqualTo(1), "said once, not every second: " + H.Log.Text);
    }

    [Test]
    public void A_service_that_goes_away_means_black_then_a_reconnect_that_resends_StartStream()
    {
        _harness = new ClientHarness();
        using (var ring = StartAllowedStream(Yuyv))
        {
            H.Service.Publish(ring, Yuyv, frameNumber: 1, sequence: 1);
            H.Service.SetPermission(allowed: true);
            Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Camera));

            // The service is killed: its end of the connection closes and its socket file goes.
            H.Service.CloseConnection();
            H.Service.StopListening();
            Assert.That(H.WaitUntil(s => !s.IsConnected), Is.True);
            Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Black), "the old ring is not read any more");
        }

        H.Service.Listen();
        H.Service.Welcome(allowed: true);
        var start = H.Service.Expect(Kind.StartStream).StartStream;
        Assert.That((start.PixelFormat, start.Width, start.Height, start.SizeImage),
            Is.EqualTo((Yuyv.PixelFormat, Yuyv.Width, Yuyv.Height, Yuyv.SizeImage)));
        using var fresh = new FrameRingWriter(4, (int)Yuyv.SizeImage);
        H.Service.Attach(fresh, Yuyv);
        var published = H.Service.Publish(fresh, Yuyv, frameNumber: 2, sequence: 2);
        H.Service.SetPermission(allowed: true);
        var (content, bytes) = H.Render(Yuyv);
        Assert.That(content, Is.EqualTo(FrameContent.Camera));
        Assert.That(bytes, Is.EqualTo(published));
        Assert.That(H.OnLoop(s => s.Connections), Is.EqualTo(2UL));
    }

    [Test]
    public void Refused_is_logged_with_its_reason_and_the_sidecar_retries()
    {
        _harness = new ClientHarness();
        H.Service.Accept();
        H.Service.Expect(Kind.Hello);
        H.Service.Send(new ServiceMessage { Refused = new Refused { Reason = "a sidecar (pid 42) is already connected for VM test-vm" } });
        H.Service.ExpectClosed();
        Assert.That(H.Log.WaitFor("refused this sidecar (VM test-vm): a sidecar (pid 42) is already connected"), Is.True, H.Log.Text);
        Assert.That(H.OnLoop(s => (s.IsConnected, s.Connections)), Is.EqualTo((false, 0UL)));

        H.Service.Welcome(allowed: false);
        Assert.That(H.WaitUntil(s => s.IsConnected), Is.True);
    }

    [Test]
    public void A_welcome_for_another_vm_is_not_accepted()
    {
        _harness = new ClientHarness();
        H.Service.Welcome(allowed: true, vm: "other-vm");
        H.Service.ExpectClosed();
        Assert.That(H.Log.WaitFor("Welcome names VM 'other-vm'"), Is.True, H.Log.Text);
        Assert.That(H.OnLoop(s => s.Connections), Is.Zero);
    }

    [Test]
    public void Bad_construction_arguments_are_refused()
    {
        using var loop = new EventLoop();
        Assert.Multiple(() =>
        {
            Assert.That(() => new CameraServiceSource(loop, "/tmp/x.sock", "bad name"),
                Throws.ArgumentException.With.Message.Contains("[A-Za-z0-9]"));
            Assert.That(() => new CameraServiceSource(loop, "/tmp/" + new string('x', 200), "vm"),
                Throws.ArgumentException.With.Message.Contains("socket path"));
        });
    }

    private static int CountOccurrences(string text, string fragment)
    {
        var count = 0;
        for (var i = text.IndexOf(fragment, StringComparison.Ordinal); i >= 0; i = text.IndexOf(fragment, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>Open fds of this process on the memfd named <paramref name="name"/>.</summary>
    private static int CountMemFds(string name) =>
        Directory.GetFileSystemEntries("/proc/self/fd").Count(entry =>
        {
            try
            {
                return new FileInfo(entry).LinkTarget == $"/memfd:{name} (deleted)";
            }
            catch (IOException)
            {
                return false;
            }
        });

    /// <summary>Welcome (allowed), STREAMON, and a ring for the stream's format (attached unless told otherwise).</summary>
    private FrameRingWriter StartAllowedStream(FrameFormat format, int slots = 4, bool attach = true)
    {
        H.Service.Welcome(allowed: true);
        H.StreamStarted(format, Rate);
        H.Service.Expect(Kind.StartStream);
        var ring = new FrameRingWriter(slots, (int)format.SizeImage);
        if (attach)
        {
            H.Service.Attach(ring, format);
        }

        return ring;
    }

    /// <summary>The connection (the first unless told otherwise) lives on and a good ring works.</summary>
    private void AssertStillServes(ulong connections = 1)
    {
        Assert.That(H.OnLoop(s => (s.IsConnected, s.Connections)), Is.EqualTo((true, connections)));
        using var ring = new FrameRingWriter(4, (int)Yuyv.SizeImage);
        H.Service.Attach(ring, Yuyv);
        var published = H.Service.Publish(ring, Yuyv, frameNumber: 77, sequence: 77);
        H.Service.SetPermission(allowed: true);
        var (content, bytes) = H.Render(Yuyv);
        Assert.That(content, Is.EqualTo(FrameContent.Camera));
        Assert.That(bytes, Is.EqualTo(published));
    }

    /// <summary>The client dropped the connection for <paramref name="logged"/>, connects again, and resends StartStream.</summary>
    private void AssertReconnectsAndResumes(string logged)
    {
        H.Service.ExpectClosed();
        Assert.That(H.Log.WaitFor(logged), Is.True, H.Log.Text);
        Assert.That(H.Render(Yuyv).Content, Is.EqualTo(FrameContent.Black));
        H.Service.Welcome(allowed: true);
        H.Service.Expect(Kind.StartStream);
        AssertStillServes(connections: 2);
    }
}
