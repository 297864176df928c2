using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Tests.Media.Unit;

/// <summary>
/// The transport between the virtqueues and the device, without sockets: command batching and its continuation, answers
/// written to the writable part with exactly their length, one interrupt per batch, and the event backlog (order,
/// capacity, discard, buffers too small). The queues are <see cref="FakeVirtqueue"/>s over real memfd guest RAM.
/// </summary>
[NonParallelizable]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class VirtqueueTransportTests : IDisposable
{
    private static readonly int MaxRequest = 4096;
    private static readonly uint[] ThreeErrorEventLengths = [16, 16, 16];
    private static readonly uint[] ErrnosInOrder = [100, 101, 102];
    private static readonly uint[] ErrnosOfTheOtherSession = [2, 4];

    private readonly GuestRam _ram = new(8UL << 20);
    private readonly GuestMemory _memory;
    private readonly EventLoop _loop = new();
    private readonly EchoHandler _handler = new();
    private readonly VirtqueueTransport _transport = new(MaxRequest);
    private readonly FakeVirtqueue _commandq;
    private readonly FakeVirtqueue _eventq;

    public VirtqueueTransportTests()
    {
        _memory = new GuestMemory(_ram.Regions.Select(r => GuestMemoryRegion.Map(r.GuestPhysicalAddress, r.Size, r.UserAddress, r.MmapOffset, _ram.Fd)));
        _commandq = new FakeVirtqueue(VirtqueueTransport.CommandQueue, _memory);
        _eventq = new FakeVirtqueue(VirtqueueTransport.EventQueue, _memory);
        _transport.Attach(_loop, _handler);
        _transport.QueueStarted(VirtqueueTransport.CommandQueue, _commandq);
        _transport.QueueStarted(VirtqueueTransport.EventQueue, _eventq);
    }

    [Test]
    public void A_flood_is_answered_64_commands_a_loop_turn_with_one_interrupt_a_turn()
    {
        for (var i = 0; i < 150; i++)
        {
            OfferCommand(MediaRequests.Open(), writable: 16);
        }

        _transport.QueueNotified(VirtqueueTransport.CommandQueue);
        Assert.That((_commandq.Completed.Count, _commandq.Notifications), Is.EqualTo((64, 1)), "the first turn");

        RunPostedWork();
        Assert.That((_commandq.Completed.Count, _commandq.Notifications), Is.EqualTo((150, 3)), "two continuations finish it");
        Assert.That(_handler.Handled, Is.EqualTo(150));
        Assert.That(_commandq.Completed.Select(c => c.Head), Is.EqualTo(Enumerable.Range(0, 150).Select(i => (ushort)i)), "in order");
    }

    [Test]
    public void An_answer_is_written_to_the_writable_part_and_completed_with_its_length()
    {
        var (_, response) = OfferCommand(MediaRequests.Ioctl(7, V4l2IoctlNumber.GFmt, MediaRequests.Format(640, 480, 1)), writable: 512);
        _ram.Span(response, 512).Fill(0xEE);

        _transport.QueueNotified(VirtqueueTransport.CommandQueue);

        var length = 8 + MediaRequests.SizeOf<V4l2Format>();
        Assert.That(_commandq.Completed, Is.EqualTo(new[] { ((ushort)0, (uint)length) }));
        Assert.That(MediaRequests.Read<V4l2Format>(_ram.Span(response + 8, length - 8)).Pix.Width, Is.EqualTo(640u), "the handler's answer");
        Assert.That(_ram.Span(response + (ulong)length, 512 - length).ContainsAnyExcept((byte)0xEE), Is.False, "nothing past it");
    }

    [Test]
    public void A_command_without_room_for_its_answer_is_completed_with_nothing_written()
    {
        var (_, response) = OfferCommand(MediaRequests.Open(), writable: 4);
        _ram.Span(response, 4).Fill(0xEE);

        _transport.QueueNotified(VirtqueueTransport.CommandQueue);

        Assert.That(_commandq.Completed, Is.EqualTo(new[] { ((ushort)0, 0u) }));
        Assert.That(_ram.Span(response, 4).ContainsAnyExcept((byte)0xEE), Is.False);
    }

    [Test]
    public void Events_wait_in_the_backlog_until_the_driver_posts_buffers_and_go_out_in_order()
    {
        for (var i = 0u; i < 3; i++)
        {
            _transport.SendEvent(Error(session: 1, errno: 100 + i));
        }

        Assert.That(_eventq.Completed, Is.Empty, "no buffer posted yet");
        var buffers = Enumerable.Range(0, 3).Select(_ => OfferEventBuffer(608)).ToList();
        _transport.QueueNotified(VirtqueueTransport.EventQueue);

        Assert.That(_eventq.Completed.Select(c => c.Written), Is.EqualTo(ThreeErrorEventLengths));
        Assert.That(buffers.Select(b => MediaRequests.Read<VirtioMediaErrorEvent>(_ram.Span(b, 16)).Errno), Is.EqualTo(ErrnosInOrder));
        Assert.That(_eventq.Notifications, Is.EqualTo(1), "one interrupt for the three");
    }

    [Test]
    public void An_event_buffer_too_small_is_returned_unused_and_the_event_waits_for_the_next()
    {
        OfferEventBuffer(8);
        var good = OfferEventBuffer(608);

        _transport.SendEvent(Error(session: 1, errno: 5));

        Assert.That(_eventq.Completed, Is.EqualTo(new[] { ((ushort)0, 0u), ((ushort)1, 16u) }));
        Assert.That(MediaRequests.Read<VirtioMediaErrorEvent>(_ram.Span(good, 16)).Errno, Is.EqualTo(5u));
    }

    [Test]
    public void Discarding_a_sessions_events_keeps_the_others_in_order()
    {
        _transport.SendEvent(Error(session: 1, errno: 1));
        _transport.SendEvent(Error(session: 2, errno: 2));
        _transport.SendEvent(Error(session: 1, errno: 3));
        _transport.SendEvent(Error(session: 2, errno: 4));

        Assert.That(_transport.DiscardEvents(1), Is.EqualTo(2));
        var buffers = Enumerable.Range(0, 4).Select(_ => OfferEventBuffer(608)).ToList();
        _transport.QueueNotified(VirtqueueTransport.EventQueue);

        Assert.That(_eventq.Completed, Has.Count.EqualTo(2));
        Assert.That(buffers.Take(2).Select(b => MediaRequests.Read<VirtioMediaErrorEvent>(_ram.Span(b, 16)).Errno), Is.EqualTo(ErrnosOfTheOtherSession));
    }

    [Test]
    public void The_backlog_holds_64_events_and_refuses_more_until_one_goes_out()
    {
        for (var i = 0u; i < 64; i++)
        {
            Assert.That(_transport.CanSendEvent, Is.True, $"event {i}");
            _transport.SendEvent(Error(session: 1, errno: i));
        }

        Assert.That(_transport.CanSendEvent, Is.False);
        OfferEventBuffer(608);
        _transport.QueueNotified(VirtqueueTransport.EventQueue);
        Assert.That(_transport.CanSendEvent, Is.True);
    }

    [Test]
    public void Nothing_is_sent_or_answered_while_a_queue_is_stopped()
    {
        _transport.QueueStopped(VirtqueueTransport.EventQueue);
        Assert.That((_transport.IsRunning, _transport.CanSendEvent, _transport.Memory), Is.EqualTo((false, false, (GuestMemory?)null)));

        _transport.QueueStopped(VirtqueueTransport.CommandQueue);
        OfferCommand(MediaRequests.Open(), writable: 16);
        _transport.QueueNotified(VirtqueueTransport.CommandQueue);
        Assert.That(_commandq.Completed, Is.Empty);
    }

    public void Dispose()
    {
        _loop.Dispose();
        _memory.Dispose();
        _ram.Dispose();
    }

    private static VirtioMediaErrorEvent Error(uint session, uint errno) => new()
    {
        Header = new VirtioMediaEventHeader { Event = VirtioMediaWire.EventError, SessionId = session },
        Errno = errno,
    };

    private (ushort Head, ulong Response) OfferCommand(byte[] request, uint writable)
    {
        var gpa = _ram.Allocate((ulong)request.Length);
        request.CopyTo(_ram.Span(gpa, request.Length));
        var response = _ram.Allocate(Math.Max(writable, 1));
        return (_commandq.Offer((gpa, (uint)request.Length, false), (response, writable, true)), response);
    }

    private ulong OfferEventBuffer(uint length)
    {
        var gpa = _ram.Allocate(length);
        _eventq.Offer((gpa, length, true));
        return gpa;
    }

    private void RunPostedWork()
    {
        _loop.Post(_loop.RequestStop);
        _loop.Run();
    }

    /// <summary>Answers OPEN with a session id and an ioctl with the format it was sent, as a device would.</summary>
    private sealed class EchoHandler : ICommandHandler
    {
        public int Handled { get; private set; }

        public void Handle(in CommandRequest request, CommandResponse response)
        {
            Handled++;
            if (WireStruct.TryRead(request.Bytes, out VirtioMediaIoctlCommand ioctl) && ioctl.Header.Command == VirtioMediaWire.CmdIoctl)
            {
                response.Answer(MediaRequests.Read<V4l2Format>(request.Bytes[16..]));
                return;
            }

            response.AnswerWhole(new VirtioMediaOpenResponse { SessionId = (uint)Handled });
        }
    }
}
