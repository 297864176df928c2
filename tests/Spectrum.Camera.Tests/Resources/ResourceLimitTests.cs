using System.Diagnostics;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Tests.Core;
using Spectrum.Camera.Tests.Media;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Resources;

/// <summary>
/// Bounded resources under a malicious guest (limits in docs/architecture.md, "Resource limits"): a
/// million OPENs, OPEN/CLOSE churn, REQBUFS and maximal-QBUF storms on a full session table, and a stream whose eventq
/// is never refilled. Everything goes through the real vhost-user path (test VMM, memfd guest RAM, device loop thread);
/// commands are sent in bursts of one kick each (<see cref="CommandBurst"/>). After each storm: the device's tables are
/// at their limits, the project's fds (eventfd, epoll, timerfd, socket, memfd) are exactly those from before, and the
/// managed heap after a full GC and the resident set grew by less than the bounds below.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ResourceLimitTests
{
    /// <summary>
    /// Largest managed-heap growth (after a full GC) a storm may cause. The device's largest table, 32 buffers x 16,384
    /// SG ranges x 16 bytes, is 8 MiB of it.
    /// </summary>
    public const long HeapGrowthBound = 16L << 20;

    /// <summary>Largest resident-set growth a storm may cause (GC segments and JIT code included).</summary>
    public const long RssGrowthBound = 64L << 20;

    private const int Burst = 128;

    [Test]
    public void A_million_opens_leave_the_session_table_at_its_limit_and_cost_nothing()
    {
        var leak = FdLeakCheck.Start();
        using (var h = MediaHarness.Start())
        {
            var burst = new CommandBurst(h, Burst, 16, 16);
            var limit = h.Device.Options.SessionLimit;
            var watch = Stopwatch.StartNew();
            var (ok, busy) = Opens(burst, 16_384, new List<uint>());
            var before = ProcessResources.Measure();
            var (ok2, busy2) = Opens(burst, 1_000_000 - 16_384, null);
            watch.Stop();
            var after = ProcessResources.Measure();
            TestContext.Out.WriteLine($"1,000,000 OPENs in {watch.Elapsed.TotalSeconds:0.0} s; before {before}; after {after}");

            Assert.Multiple(() =>
            {
                Assert.That(ok + ok2, Is.EqualTo(limit), "OPENs granted");
                Assert.That(busy + busy2, Is.EqualTo(1_000_000 - limit), "OPENs refused with EBUSY");
                Assert.That(h.SessionCount(), Is.EqualTo(limit), "sessions open");
                AssertBounded(before, after);
            });
            h.AssertHealthy();
        }

        leak.AssertNoLeak();
    }

    [Test]
    public void Open_close_churn_keeps_the_session_table_full_and_bounded()
    {
        var leak = FdLeakCheck.Start();
        using (var h = MediaHarness.Start())
        {
            var burst = new CommandBurst(h, Burst, 16, 16);
            var open = new Queue<uint>();
            var ids = new List<uint>();
            Opens(burst, h.Device.Options.SessionLimit, ids);
            ids.ForEach(open.Enqueue);
            var before = ProcessResources.Measure();

            // Each burst closes the 64 oldest sessions, then opens 64: 200,000 commands, the table full throughout.
            for (var round = 0; round < 200_000 / Burst; round++)
            {
                var requests = new List<byte[]>();
                for (var i = 0; i < Burst / 2; i++)
                {
                    requests.Add(MediaRequests.Close(open.Dequeue()));
                }

                for (var i = 0; i < Burst / 2; i++)
                {
                    requests.Add(MediaRequests.Open());
                }

                var answers = burst.Send(requests, 16);
                foreach (var answer in answers.Skip(Burst / 2))
                {
                    Assert.That(CommandBurst.Status(answer), Is.Zero, $"OPEN after CLOSE in round {round}");
                    open.Enqueue(MediaGuestDriver.U32(answer, 8));
                }
            }

            var after = ProcessResources.Measure();
            TestContext.Out.WriteLine($"OPEN/CLOSE churn: before {before}; after {after}");
            Assert.Multiple(() =>
            {
                Assert.That(open.Distinct().Count(), Is.EqualTo(h.Device.Options.SessionLimit), "distinct open session ids");
                Assert.That(h.SessionCount(), Is.EqualTo(h.Device.Options.SessionLimit));
                AssertBounded(before, after);
            });

            while (open.Count > 0)
            {
                burst.Send([.. Enumerable.Range(0, Math.Min(Burst, open.Count)).Select(_ => MediaRequests.Close(open.Dequeue()))], 0);
            }

            Assert.That(h.SessionCount(), Is.Zero, "every session closed");
            h.AssertHealthy();
        }

        leak.AssertNoLeak();
    }

    [Test]
    public void Reqbufs_and_maximal_qbuf_storms_on_a_full_session_table_stay_within_32_buffers_and_bounded_memory()
    {
        var leak = FdLeakCheck.Start();
        using (var h = MediaHarness.Start())
        {
            var small = new CommandBurst(h, Burst, 64, 64);
            var sessions = new List<uint>();
            Opens(small, h.Device.Options.SessionLimit, sessions);

            // REQBUFS storm: every session in turn, counts alternating between extremes. Whoever owns the queue gets at
            // most 32 buffers; everyone else gets EBUSY.
            uint[] counts = [32, 0, 1, uint.MaxValue, 7, 0, 33, 0, 2, 31];
            var storm = 0;
            void ReqbufsStorm(int commands)
            {
                for (var sent = 0; sent < commands; sent += Burst)
                {
                    var requests = Enumerable.Range(0, Burst).Select(i =>
                    {
                        var n = storm++;
                        return MediaRequests.Ioctl(sessions[n % sessions.Count], ReqBufs, RequestBuffers(counts[n % counts.Length]));
                    }).ToList();
                    foreach (var answer in small.Send(requests, 8 + RequestBuffersSize))
                    {
                        var status = CommandBurst.Status(answer);
                        Assert.That(status, Is.EqualTo(0u).Or.EqualTo(EBUSY), "REQBUFS status");
                        if (status == 0)
                        {
                            Assert.That(U32(answer, 8), Is.LessThanOrEqualTo(32u), "buffers granted");
                        }
                    }
                }
            }

            // Maximal buffers: 32 of 64 MiB, each described by 16,384 SG entries (all on one guest page). The requests
            // and their guest slots are made (and the slots touched) before the baseline: they are the test's memory.
            var owner = sessions[0];
            var page = h.Ram.Allocate(4096, 4096);
            var sg = SgList([.. Enumerable.Repeat((page, 4096u), MaxSgEntries)]);
            var big = new CommandBurst(h, 32, 16 + BufferSize + sg.Length, 8 + BufferSize);
            big.Touch();
            var qbufs = Enumerable.Range(0, 32).Select(i =>
                MediaRequests.Ioctl(owner, QBuf, [.. Buffer((uint)i, 0x7F00_0000_0000UL, MaxBufferLength), .. sg])).ToList();

            ReqbufsStorm(20_000);
            var before = ProcessResources.Measure();
            ReqbufsStorm(200_000);
            FreeQueue(small, sessions);

            // Queued again and again; then one entry too many. The device keeps at most 32 x 16,384 SG ranges of 16
            // bytes (8 MiB).
            for (var round = 0; round < 10; round++)
            {
                Assert.That(U32(h.IoctlOk(owner, ReqBufs, RequestBuffers(32), RequestBuffersSize), 0), Is.EqualTo(32u));
                Assert.That(big.Send(qbufs, 8 + BufferSize).Select(CommandBurst.Status), Is.All.EqualTo(0u), $"maximal QBUFs, round {round}");
            }
            Assert.That(h.IoctlOk(owner, ReqBufs, RequestBuffers(1), RequestBuffersSize), Is.Not.Empty);
            // 4095-byte entries: 64 MiB needs more than 16,384 of them.
            var tooMany = SgList([.. Enumerable.Repeat((page, 4095u), MaxSgEntries + 6)]);
            var (refused, _) = h.Ioctl(owner, QBuf, Buffer(0, 0x7F00_0000_0000UL, MaxBufferLength), BufferSize, tooMany);
            tooMany = [];
            var after = ProcessResources.Measure();
            GC.KeepAlive(qbufs);
            TestContext.Out.WriteLine($"220,000 REQBUFS + 320 maximal QBUFs: before {before}; after {after}");
            Assert.Multiple(() =>
            {
                Assert.That(refused, Is.EqualTo(EINVAL), "a buffer needing more than 16,384 SG entries");
                Assert.That(h.LogText, Does.Contain("SG list needs more than 16384 entries"));
                AssertBounded(before, after);
            });
            h.AssertHealthy();
        }

        leak.AssertNoLeak();
    }

    [Test]
    public void A_stream_whose_eventq_is_never_refilled_backlogs_at_most_64_events()
    {
        var leak = FdLeakCheck.Start();
        using (var h = MediaHarness.Start(menu: StableMenu.Parse("formats=YUYV;sizes=64x32;fps=240"), eventBuffers: 0))
        {
            var client = new CaptureClient(h);
            client.SetFormat(Yuyv, 64, 32);
            client.Allocate(32);
            client.QueueAll();
            Assert.That(client.StreamOn(), Is.Zero);
            var before = ProcessResources.Measure();

            // Re-queue every buffer the device has filled (QUERYBUF shows it no longer queued), never posting an eventq
            // buffer: frames complete until the backlog is full, then every period is dropped.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (h.Counters().Dropped < 500 && DateTime.UtcNow < deadline)
            {
                for (var i = 0; i < 32; i++)
                {
                    if ((client.FlagsOf(i) & V4l2.BufFlagQueued) == 0)
                    {
                        client.Queue(i);
                    }
                }

                Thread.Sleep(5);
            }

            var (delivered, dropped, _, _, _) = h.Counters();
            var after = ProcessResources.Measure();
            TestContext.Out.WriteLine($"eventq never refilled: {delivered} frames completed, {dropped} dropped; before {before}; after {after}");
            Assert.Multiple(() =>
            {
                Assert.That(dropped, Is.GreaterThanOrEqualTo(500UL), "frame periods dropped once the backlog was full");
                Assert.That(delivered, Is.EqualTo((ulong)EventBacklog), "frames completed = events waiting for a buffer");
                AssertBounded(before, after);
            });

            // Only now does the driver post buffers: exactly the backlog arrives, then the stream goes on.
            h.Driver.PostEventBuffers(128);
            var events = h.DrainEvents(TimeSpan.FromMilliseconds(300));
            Assert.That(events.Count(e => U32(e, 0) == 1), Is.GreaterThanOrEqualTo(EventBacklog), "the backlog, then live frames");
            Assert.That(h.WaitUntil(d => d.Counters.Delivered > (ulong)EventBacklog), Is.True, "the stream resumes");
            Assert.That(client.StreamOff(), Is.Zero);
            h.AssertHealthy();
        }

        leak.AssertNoLeak();
    }

    [Test]
    public void Mmap_buffer_storms_never_hold_more_than_the_window_and_leave_no_buffer_behind()
    {
        var leak = FdLeakCheck.Start();
        const ulong window = 64UL << 20;
        using (var h = MediaHarness.Start(model: FrontendModel.Qemu112Media, sharedMemorySize: window))
        {
            var client = new MmapCaptureClient(h);
            client.SetFormat(Yuyv, 1920, 1080); // 4,147,200 bytes: 4 MiB in the window
            var before = ProcessResources.Measure();
            var mostBytes = 0UL;
            for (var round = 0; round < 40; round++)
            {
                var (status, granted, _) = client.RequestBuffers(32);
                Assert.That((status, granted), Is.EqualTo((0u, 16u)), $"round {round}: 16 of 32 fit 64 MiB");
                client.Allocate(16);
                client.MapAll();

                // Mapped buffers outlive REQBUFS (orphans), so nothing new fits until they are unmapped.
                Assert.That(client.RequestBuffers(32).Status, Is.EqualTo(12u), $"round {round}: ENOMEM while 64 MiB stay mapped");
                mostBytes = Math.Max(mostBytes, h.WindowState().BufferBytes);
                for (var i = 0; i < 16; i++)
                {
                    Assert.That(client.Unmap(i), Is.Zero);
                }

                Assert.That(SpinWait.SpinUntil(() => h.WindowState().Buffers == 0, MediaHarness.Timeout), Is.True, $"round {round}: all freed");
            }

            var after = ProcessResources.Measure();
            TestContext.Out.WriteLine($"640 MMAP buffers of 4 MiB allocated, mapped and freed; most held {ProcessResources.MiB((long)mostBytes)}; before {before}; after {after}");
            Assert.Multiple(() =>
            {
                Assert.That(mostBytes, Is.EqualTo(window), "buffer memory peaks at the window size");
                Assert.That(h.WindowState(), Is.EqualTo((0, 0UL, 0, 0UL)));
                Assert.That(h.Vmm.Region!.Mappings, Is.Empty);
                AssertBounded(before, after);
            });
            h.AssertHealthy();
        }

        leak.AssertNoLeak();
    }

    [Test]
    public void Mmap_munmap_churn_and_a_mapping_flood_stay_within_1024_mappings_and_return_the_window_whole()
    {
        var leak = FdLeakCheck.Start();
        using (var h = MediaHarness.Start(menu: StableMenu.Parse("formats=YUYV;sizes=64x32;fps=30"), model: FrontendModel.Qemu112Media,
                   sharedMemorySize: 128UL << 20))
        {
            var client = new MmapCaptureClient(h);
            client.SetFormat(Yuyv, 64, 32);
            client.Allocate(1);
            var burst = new CommandBurst(h, 16, 24, 24);
            var map = Enumerable.Repeat(Mmap(client.Session, client.Buffers[0].Offset), 16).ToList();
            var before = ProcessResources.Measure();

            // 1,000 rounds of 16 maps (the most that wait for the VMM at once) and their 16 unmaps: 32,000 commands.
            for (var round = 0; round < 1_000; round++)
            {
                var addresses = burst.Send(map, 24).Select(a => (CommandBurst.Status(a), MediaGuestDriver.U64(a, 8))).ToList();
                Assert.That(addresses.Select(a => a.Item1), Is.All.Zero, $"round {round} maps");
                var unmapped = burst.Send([.. addresses.Select(a => Munmap(a.Item2))], 8);
                Assert.That(unmapped.Select(CommandBurst.Status), Is.All.Zero, $"round {round} unmaps");
            }

            Assert.That(SpinWait.SpinUntil(() => h.WindowState().Mappings == 0, MediaHarness.Timeout), Is.True);
            var afterChurn = ProcessResources.Measure();

            // The flood: maps of the one 64 KiB buffer until refused. The 128 MiB window has room for 2,048; the mapping
            // limit stops it at 1,024.
            var granted = 0;
            var refused = 0;
            var flood = new List<ulong>();
            while (refused == 0)
            {
                foreach (var a in burst.Send(map, 24))
                {
                    if (CommandBurst.Status(a) == 0)
                    {
                        granted++;
                        flood.Add(MediaGuestDriver.U64(a, 8));
                    }
                    else
                    {
                        Assert.That(CommandBurst.Status(a), Is.EqualTo(12u), "ENOMEM past the limit");
                        refused++;
                    }
                }
            }

            foreach (var chunk in flood.Chunk(16))
            {
                burst.Send([.. chunk.Select(a => Munmap(a))], 8);
            }

            Assert.That(SpinWait.SpinUntil(() => h.WindowState().Mappings == 0, MediaHarness.Timeout), Is.True);
            var after = ProcessResources.Measure();
            TestContext.Out.WriteLine($"16,000 maps and unmaps, then a flood of {granted} mappings; before {before}; after churn {afterChurn}; after {after}");
            Assert.Multiple(() =>
            {
                Assert.That(granted, Is.EqualTo(1_024), "mappings granted");
                Assert.That(h.OnLoop(d => d.Window.MappingCount), Is.Zero);
                Assert.That(h.Vmm.Region!.Mappings, Is.Empty);
                AssertBounded(before, after);
            });
            h.AssertHealthy();
        }

        leak.AssertNoLeak();
    }

    private const int EventBacklog = 64;
    private const int MaxSgEntries = 16_384;
    private const uint MaxBufferLength = 64u << 20;

    /// <summary>Sends <paramref name="count"/> OPENs in bursts; collects granted session ids; returns (granted, EBUSY).</summary>
    private static (int Ok, int Busy) Opens(CommandBurst burst, int count, List<uint>? granted)
    {
        int ok = 0, busy = 0;
        var open = Enumerable.Repeat(MediaRequests.Open(), burst.Batch).ToList();
        for (var sent = 0; sent < count; sent += burst.Batch)
        {
            foreach (var answer in burst.Send(open.GetRange(0, Math.Min(burst.Batch, count - sent)), 16))
            {
                var status = CommandBurst.Status(answer);
                if (status == 0)
                {
                    ok++;
                    granted?.Add(MediaGuestDriver.U32(answer, 8));
                }
                else if (status == EBUSY)
                {
                    busy++;
                }
                else
                {
                    Assert.Fail($"OPEN answered {status}");
                }
            }
        }

        return (ok, busy);
    }

    /// <summary>REQBUFS 0 from every session: the owner's frees the queue.</summary>
    private static void FreeQueue(CommandBurst burst, List<uint> sessions)
    {
        foreach (var chunk in sessions.Chunk(burst.Batch))
        {
            burst.Send([.. chunk.Select(s => MediaRequests.Ioctl(s, ReqBufs, RequestBuffers(0)))], 8 + RequestBuffersSize);
        }
    }

    private static void AssertBounded(ProcessResources before, ProcessResources after)
    {
        Assert.That(after.ProjectFds, Is.EqualTo(before.ProjectFds), "project fds (eventfd, epoll, timerfd, socket, memfd)");
        Assert.That(after.HeapBytes - before.HeapBytes, Is.LessThan(HeapGrowthBound), $"managed heap growth after a full GC ({before} -> {after})");
        Assert.That(after.RssBytes - before.RssBytes, Is.LessThan(RssGrowthBound), $"RSS growth ({before} -> {after})");
    }
}
