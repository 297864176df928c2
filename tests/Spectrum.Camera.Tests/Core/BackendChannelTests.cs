using System.Diagnostics;
using Spectrum.Camera.Native;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Threading;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// The backend channel against a front-end on a real socketpair (the test front-end's, which maps into a real region
/// as QEMU 11.2 does): requests and acks, each way a front-end can answer out of protocol, a front-end that never
/// answers, and the bound on waiting requests. The loop is never blocked: a request returns at once, and the loop
/// keeps running callbacks while acks are outstanding.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class BackendChannelTests : CoreFixture
{
    private const ulong Window = 1UL << 20;
    private const ulong Page = 64 * 1024;

    private static readonly MappingOutcome[] OnlyTheLastNotSent = [MappingOutcome.NotSent];

    [Test]
    public void A_map_and_its_unmap_are_acknowledged_and_the_fd_is_mapped_where_the_request_says()
    {
        using var rig = new ChannelRig();
        using var memfd = MemFd.CreateSealable("backend-channel-test", Page);
        using (var mine = MappedMemory.MapShared(memfd, Page))
        {
            mine.AsSpan(4).Fill(0x5A);
        }

        Assert.That(rig.Map(memfd, 3 * Page, Page, writable: false), Is.EqualTo(MappingOutcome.Done));
        var request = rig.Server.Requests.Single();
        Assert.Multiple(() =>
        {
            Assert.That(request.Id, Is.EqualTo(BackendChannelServer.ShmemMap));
            Assert.That(request.Flags, Is.EqualTo(0x9u), "version 1 | NEED_REPLY");
            Assert.That(request.Payload, Has.Length.EqualTo(40), "VhostUserMMap");
            Assert.That(request.Payload.AsSpan(0, 16).ContainsAnyExcept((byte)0), Is.False, "shmid 0, padding, fd_offset 0");
            Assert.That((request.Offset, request.Length, request.MapFlags, request.FdCount), Is.EqualTo((3 * Page, Page, 0UL, 1)));
            Assert.That(rig.Region.Read(3 * Page, 4), Is.All.EqualTo((byte)0x5A), "the memfd is what region 0 shows");
        });

        Assert.That(rig.Unmap(3 * Page, Page), Is.EqualTo(MappingOutcome.Done));
        Assert.That(rig.Region.Mappings, Is.Empty);
        Assert.That(rig.Channel.IsUsable, Is.True);
    }

    [Test]
    public void A_refusing_front_end_answers_refused_and_the_channel_stays()
    {
        using var rig = new ChannelRig();
        using var memfd = MemFd.CreateSealable("backend-channel-test", Page);
        rig.Server.Fault = ChannelFault.Refuse;

        Assert.That(rig.Map(memfd, 0, Page, writable: true), Is.EqualTo(MappingOutcome.Refused));
        Assert.That(rig.Unmap(0, Page), Is.EqualTo(MappingOutcome.Refused));
        Assert.That(rig.Channel.IsUsable, Is.True);
    }

    [Test]
    public void An_overlapping_or_out_of_range_map_is_refused_by_the_front_end()
    {
        using var rig = new ChannelRig();
        using var memfd = MemFd.CreateSealable("backend-channel-test", 2 * Page);

        Assert.That(rig.Map(memfd, 0, 2 * Page, writable: true), Is.EqualTo(MappingOutcome.Done));
        Assert.That(rig.Map(memfd, Page, Page, writable: true), Is.EqualTo(MappingOutcome.Refused), "overlap");
        Assert.That(rig.Map(memfd, Window - Page, 2 * Page, writable: true), Is.EqualTo(MappingOutcome.Refused), "past the end");
        Assert.That(rig.Unmap(0, Page), Is.EqualTo(MappingOutcome.Refused), "an unmap names a whole mapping");
    }

    [TestCase(ChannelFault.WrongRequest, "the ack names request 10, expected 9")]
    [TestCase(ChannelFault.BadFlags, "has flags 0xd, expected 0x5")]
    [TestCase(ChannelFault.Oversized, "carries 64 bytes, expected 8")]
    [TestCase(ChannelFault.WithFd, "an ack carried file descriptors")]
    [TestCase(ChannelFault.Close, "the front-end closed it")]
    public void An_ack_out_of_protocol_loses_the_channel_and_every_later_request_is_not_sent(ChannelFault fault, string reason)
    {
        using var rig = new ChannelRig();
        using var memfd = MemFd.CreateSealable("backend-channel-test", Page);
        rig.Server.Fault = fault;

        Assert.That(rig.Map(memfd, 0, Page, writable: true), Is.EqualTo(MappingOutcome.ChannelLost));
        Assert.Multiple(() =>
        {
            Assert.That(rig.Channel.IsUsable, Is.False);
            Assert.That(rig.Channel.LostReason, Does.Contain(reason));
            Assert.That(rig.LostEvents, Is.EqualTo(1));
            Assert.That(rig.Log.Text, Does.Contain("backend channel given up"));
        });
        Assert.That(rig.Map(memfd, Page, Page, writable: true), Is.EqualTo(MappingOutcome.NotSent));
        Assert.That(rig.Server.Requests, Has.Count.EqualTo(1), "nothing more was sent");
    }

    [Test]
    public void An_ack_nobody_asked_for_loses_the_channel()
    {
        using var rig = new ChannelRig();
        using var memfd = MemFd.CreateSealable("backend-channel-test", Page);
        rig.Server.Fault = ChannelFault.Duplicate;

        Assert.That(rig.Map(memfd, 0, Page, writable: true), Is.EqualTo(MappingOutcome.Done), "the first ack answers the request");
        Assert.That(SpinWait.SpinUntil(() => !rig.OnLoop(() => rig.Channel.IsUsable), TestWait.Bound), Is.True);
        Assert.That(rig.Channel.LostReason, Does.Contain("nobody asked for"));
    }

    [Test]
    public void An_ack_that_arrives_a_byte_at_a_time_is_assembled()
    {
        using var rig = new ChannelRig();
        using var memfd = MemFd.CreateSealable("backend-channel-test", Page);
        rig.Server.Fault = ChannelFault.ByteAtATime;

        Assert.That(rig.Map(memfd, 0, Page, writable: true), Is.EqualTo(MappingOutcome.Done));
        Assert.That(rig.Unmap(0, Page), Is.EqualTo(MappingOutcome.Done));
        Assert.That(rig.Channel.IsUsable, Is.True);
    }

    [Test]
    public void A_front_end_that_never_answers_loses_the_channel_at_the_ack_timeout_and_the_loop_runs_meanwhile()
    {
        var now = 0L;
        using var rig = new ChannelRig(clock: () => Volatile.Read(ref now));
        using var memfd = MemFd.CreateSealable("backend-channel-test", Page);
        rig.Server.Fault = ChannelFault.Silent;
        MappingOutcome? outcome = null;

        var sending = Stopwatch.StartNew();
        rig.OnLoop(() => rig.Channel.Map(memfd, 0, Page, true, o => outcome = o));
        sending.Stop();
        Assert.That(rig.Server.WaitForRequests(1, TestWait.Bound), Is.True);
        for (var i = 0; i < 10; i++)
        {
            Assert.That(rig.OnLoop(() => i), Is.EqualTo(i), "the loop answers while the ack is outstanding");
        }

        Assert.That(rig.OnLoop(() => (outcome, rig.Channel.PendingCount)), Is.EqualTo(((MappingOutcome?)null, 1)));
        Volatile.Write(ref now, BackendChannel.AckTimeoutNanoseconds - 1);
        rig.OnLoop(rig.Channel.CheckTimeout);
        Assert.That(rig.OnLoop(() => outcome), Is.Null, "not before the timeout");

        Volatile.Write(ref now, BackendChannel.AckTimeoutNanoseconds + 1);
        rig.OnLoop(rig.Channel.CheckTimeout);

        Assert.That(rig.OnLoop(() => outcome), Is.EqualTo(MappingOutcome.ChannelLost));
        Assert.That(rig.Channel.LostReason, Does.Contain("did not answer ShmemMap within 2 s"));
        TestContext.Out.WriteLine($"sending the request took {sending.Elapsed.TotalMilliseconds:0.###} ms of loop time");
    }

    [Test]
    public void At_most_64_requests_wait_the_65th_is_not_sent_and_the_channel_stays()
    {
        using var rig = new ChannelRig();
        using var memfd = MemFd.CreateSealable("backend-channel-test", Page);
        rig.Server.Hold();
        var outcomes = new List<MappingOutcome>();
        rig.OnLoop(() =>
        {
            for (var i = 0; i <= BackendChannel.MaxPending; i++)
            {
                rig.Channel.Map(memfd, (ulong)i % 16 * Page, Page, true, outcomes.Add);
            }
        });

        Assert.That(rig.OnLoop(() => outcomes.ToArray()), Is.EqualTo(OnlyTheLastNotSent), "the 65th, on the next loop turn");
        Assert.That(rig.OnLoop(() => rig.Channel.PendingCount), Is.EqualTo(BackendChannel.MaxPending));
        rig.Server.Release();
        Assert.That(SpinWait.SpinUntil(() => rig.OnLoop(() => outcomes.Count) == BackendChannel.MaxPending + 1, TestWait.Bound), Is.True);
        Assert.That(rig.OnLoop(() => outcomes.Count(o => o == MappingOutcome.Done)), Is.EqualTo(16), "16 distinct pages mapped, the rest overlap");
        Assert.That(rig.Channel.IsUsable, Is.True);
    }

    [Test]
    public void A_send_that_fails_inside_a_request_calls_nobody_back_before_it_returns_and_loses_the_channel_on_the_next_turn()
    {
        using var loop = new LoopThread("backend-channel-test", TestWait.Bound);
        using var log = new LogCapture();
        using var memfd = MemFd.CreateSealable("backend-channel-test", Page);
        var (ours, theirs) = UnixSocket.CreatePair();
        using var peer = theirs; // a front-end that never reads its backend channel
        var channel = loop.Invoke(() => new BackendChannel(loop.Loop, ours, Window));
        var lostEvents = 0;
        channel.Lost += _ => lostEvents++;
        var outcomes = new List<(string Request, MappingOutcome Outcome)>();
        try
        {
            loop.Invoke(() => channel.Map(memfd, 0, Page, true, o => outcomes.Add(("first", o))));
            Assert.That(loop.Invoke(() => channel.PendingCount), Is.EqualTo(1));

            var inside = loop.Invoke(() =>
            {
                FillSendBuffer(ours);
                channel.Map(memfd, Page, Page, true, o => outcomes.Add(("failed", o)));
                var usableAfterFailure = channel.IsUsable;
                channel.Unmap(0, Page, o => outcomes.Add(("after", o)));
                return (Calls: outcomes.Count, usableAfterFailure, channel.LostReason, lostEvents);
            });
            Assert.That(inside, Is.EqualTo((0, false, (string?)null, 0)),
                "no callback ran and the channel was not given up inside the request whose send failed; it is unusable already");

            loop.Invoke(() => 0);
            loop.Invoke(() => 0);
            Assert.Multiple(() =>
            {
                Assert.That(loop.Invoke(() => outcomes.ToArray()), Is.EquivalentTo(new[]
                {
                    ("failed", MappingOutcome.NotSent), ("after", MappingOutcome.NotSent), ("first", MappingOutcome.ChannelLost),
                }));
                Assert.That(loop.Invoke(() => lostEvents), Is.EqualTo(1));
                Assert.That(channel.LostReason, Does.Contain("does not read its backend channel (sending ShmemMap would block)"));
                Assert.That(log.Text, Does.Contain("backend channel given up"));
            });
        }
        finally
        {
            loop.Invoke(channel.Dispose);
        }
    }

    [Test]
    public void Disposing_with_requests_waiting_calls_nobody_back()
    {
        using var rig = new ChannelRig();
        using var memfd = MemFd.CreateSealable("backend-channel-test", Page);
        rig.Server.Fault = ChannelFault.Silent;
        var calls = 0;
        rig.OnLoop(() => rig.Channel.Map(memfd, 0, Page, true, _ => calls++));
        Assert.That(rig.Server.WaitForRequests(1, TestWait.Bound), Is.True);

        rig.OnLoop(rig.Channel.Dispose);
        rig.Sync();

        Assert.That(calls, Is.Zero);
        Assert.That(SpinWait.SpinUntil(() => rig.Server.Closed, TestWait.Bound), Is.True, "the front-end sees the channel closed");
    }

    /// <summary>Writes junk until not even one more byte fits, so the channel's next send would block.</summary>
    private static void FillSendBuffer(UnixSocket socket)
    {
        var chunk = new byte[4096];
        foreach (var size in new[] { 4096, 256, 1 })
        {
            while (socket.TrySend(chunk.AsSpan(0, size)) > 0)
            {
            }
        }
    }

    /// <summary>A <see cref="BackendChannel"/> on a loop thread, its peer a test front-end serving a 1 MiB region.</summary>
    private sealed class ChannelRig : IDisposable
    {
        private readonly LoopThread _loop = new("backend-channel-test", TestWait.Bound);

        public ChannelRig(Func<long>? clock = null)
        {
            Log = new LogCapture();
            Region = new SharedMemoryRegion(Window);
            var (ours, theirs) = UnixSocket.CreatePair();
            Channel = _loop.Invoke(() => new BackendChannel(_loop.Loop, ours, Window, clock));
            Channel.Lost += _ => LostEvents++;
            Server = new BackendChannelServer(theirs, Region);
        }

        public BackendChannel Channel { get; }

        public BackendChannelServer Server { get; }

        public SharedMemoryRegion Region { get; }

        public LogCapture Log { get; }

        public int LostEvents { get; private set; }

        public T OnLoop<T>(Func<T> f) => _loop.Invoke(f);

        public void OnLoop(Action a) => _loop.Invoke(a);

        public void Sync() => _loop.Invoke(() => 0);

        public MappingOutcome Map(FdHandle fd, ulong offset, ulong length, bool writable) =>
            Wait(done => Channel.Map(fd, offset, length, writable, done));

        public MappingOutcome Unmap(ulong offset, ulong length) => Wait(done => Channel.Unmap(offset, length, done));

        public void Dispose()
        {
            _loop.Invoke(Channel.Dispose);
            _loop.Dispose();
            Server.Dispose();
            Region.Dispose();
            Log.Dispose();
        }

        private MappingOutcome Wait(Action<Action<MappingOutcome>> request)
        {
            MappingOutcome? outcome = null;
            _loop.Invoke(() => request(o => outcome = o));
            Assert.That(SpinWait.SpinUntil(() => _loop.Invoke(() => outcome) is not null, TestWait.Bound), Is.True, "the request was answered");
            return _loop.Invoke(() => outcome!.Value);
        }
    }
}
