using Spectrum.Camera.Frames;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Output;

/// <summary>
/// The Frames Wanted control through the real vhost-user path, as the camera VM's agent uses it
/// (<c>v4l2-ctl --wait-for-event=ctrl=frames_wanted</c>): its V4L2_EVENT_CTRL arrives as a 144-byte EVT_EVENT for each
/// subscribed session when the host's demand turns frames on or off, the initial value is on the eventq before the
/// SUBSCRIBE answer, and events the eventq cannot take now are owed, merged and delivered later, never lost or grown.
/// </summary>
public sealed class OutputControlTests : OutputTestBase
{
    private const uint FramesWanted = OutputControls.FramesWantedId;
    private static readonly FrameDemand Demand = Wanted(new FrameFormat(PixelFormats.Yuyv, 320, 240));

    [Test]
    public void Subscribing_with_send_initial_puts_the_current_value_on_the_eventq_before_the_subscribe_answer()
    {
        Start(Demand);
        var producer = H.Producer();

        Assert.That(Subscribe(producer, FramesWanted, V4l2.EventSubFlSendInitial), Is.Zero);

        // No wait: the event was in the used ring when the command completed.
        var raw = producer.NextEvent(TimeSpan.Zero) ?? throw new AssertionException("no event on the eventq when SUBSCRIBE returned");
        AssertControlEvent(raw, producer.Session, V4l2.EventCtrlChValue | V4l2.EventCtrlChFlags, value: 1);
    }

    [Test]
    public void The_class_control_sends_no_initial_event()
    {
        Start(Demand);
        var producer = H.Producer();
        Assert.That(Subscribe(producer, V4l2.CidUserClass, V4l2.EventSubFlSendInitial), Is.Zero);
        Assert.That(producer.NextEvent(TimeSpan.Zero), Is.Null);
        Assert.That(H.OnLoop(d => d.ControlEventsSent), Is.Zero);
    }

    [Test]
    public void Demand_on_and_off_raises_a_value_event_for_each_subscribed_session_only()
    {
        Start(null);
        var watcher = H.Producer();
        var other = H.Producer();
        Assert.That(Subscribe(watcher, FramesWanted), Is.Zero);
        Assert.That(H.OnLoop(d => d.FramesWanted), Is.False);

        SetDemand(Demand);
        SetDemand(Demand with { Rate = FrameRate.FromFps(30) }); // a new mode, still wanted: no event
        SetDemand(null);

        var first = watcher.NextEvent(Wait) ?? throw new AssertionException("no event for frames wanted");
        AssertControlEvent(first, watcher.Session, V4l2.EventCtrlChValue, value: 1);
        var second = watcher.NextEvent(Wait) ?? throw new AssertionException("no event for frames no longer wanted");
        AssertControlEvent(second, watcher.Session, V4l2.EventCtrlChValue, value: 0);
        Assert.That(H.OnLoop(d => (d.ControlEventsSent, d.FramesWanted)), Is.EqualTo((2UL, false)), "two changes, two events, none for the other session");
        Assert.That(other.Session, Is.Not.EqualTo(watcher.Session));
    }

    [Test]
    public void The_agent_waits_for_frames_wanted_reads_the_format_and_streams_until_it_turns_off()
    {
        Start(null);
        var agent = H.Producer();
        Assert.That(Subscribe(agent, FramesWanted, V4l2.EventSubFlSendInitial), Is.Zero);
        Assert.That(agent.NextControlEvent(Wait)?.Ctrl.Value, Is.EqualTo(0), "initially not wanted");

        var nv12 = new FrameFormat(PixelFormats.Nv12, 640, 480);
        SetDemand(Wanted(nv12));
        Assert.That(agent.NextControlEvent(Wait)?.Ctrl.Value, Is.EqualTo(1));
        var (status, format) = agent.GetFormat();
        Assert.That((status, format.Pix.PixelFormat, format.Pix.Width, format.Pix.Height), Is.EqualTo((0u, PixelFormats.Nv12, 640u, 480u)));
        Assert.That(agent.Allocate(2).Granted, Is.EqualTo(2u));
        Assert.That(agent.Queue(0, FrameOf(nv12, 0)).Status, Is.Zero);
        Assert.That(agent.StreamOn(), Is.Zero);
        Assert.That(agent.NextReturn(Wait), Is.Not.Null);

        SetDemand(null);
        Assert.That(agent.NextControlEvent(Wait)?.Ctrl.Value, Is.EqualTo(0), "frames no longer wanted");
        Assert.That(agent.StreamOff(), Is.Zero);
        Assert.That(OnDestination(d => d.Frames.Count), Is.EqualTo(1));
    }

    [Test]
    public void Events_the_full_backlog_cannot_take_are_merged_into_one_and_delivered_when_the_driver_posts_buffers()
    {
        // No eventq buffers: 64 events fill the backlog; the 36 changes after them are owed as one merged event.
        Start(null, eventBuffers: 0);
        var watcher = H.Producer();
        Assert.That(Subscribe(watcher, FramesWanted, V4l2.EventSubFlSendInitial), Is.Zero);
        for (var i = 1; i <= 100; i++)
        {
            SetDemand(i % 2 == 1 ? Demand : null);
        }

        Assert.That(H.OnLoop(d => d.ControlEventsSent), Is.EqualTo(64UL), "the backlog's 64 events, no more");
        H.Driver.PostEventBuffers(100);
        var values = new List<int>();
        while (watcher.NextControlEvent(TimeSpan.FromMilliseconds(200)) is { } e)
        {
            values.Add(e.Ctrl.Value);
        }

        Assert.That(values, Has.Count.EqualTo(65), "64 queued and one merged");
        Assert.That(values[0], Is.Zero, "the initial value");
        Assert.That(values[^1], Is.Zero, "the merged event carries the value after the 100th change");
        Assert.That(H.OnLoop(d => d.FramesWanted), Is.False);
    }

    [Test]
    public void Streamoff_withdraws_undelivered_buffer_returns_but_keeps_the_control_event()
    {
        Start(Demand, eventBuffers: 0);
        var format = new FrameFormat(PixelFormats.Yuyv, 320, 240);
        var producer = ProducerFor(format, 2);
        Assert.That(Subscribe(producer, FramesWanted), Is.Zero);
        Assert.That(producer.Queue(0, FrameOf(format, 0)).Status, Is.Zero);
        Assert.That(producer.Queue(1, FrameOf(format, 1)).Status, Is.Zero);
        Assert.That(producer.StreamOn(), Is.Zero);
        Assert.That(SpinWait.SpinUntil(() => H.OnLoop(d => d.Counters.Taken) == 2, Wait), Is.True, "both frames taken");
        SetDemand(null);

        Assert.That(producer.StreamOff(), Is.Zero);
        H.Driver.PostEventBuffers(16);
        var e = producer.NextEvent(Wait) ?? throw new AssertionException("the control event was lost with the returns");
        AssertControlEvent(e, producer.Session, V4l2.EventCtrlChValue, value: 0);
        Assert.That(producer.NextEvent(TimeSpan.FromMilliseconds(200)), Is.Null, "no buffer return after STREAMOFF");
    }

    [Test]
    public void Closing_a_session_withdraws_its_undelivered_control_events()
    {
        Start(Demand, eventBuffers: 0);
        var gone = H.Producer();
        Assert.That(Subscribe(gone, FramesWanted, V4l2.EventSubFlSendInitial), Is.Zero);
        Assert.That(H.Close(gone.Session), Is.Zero);
        var stays = H.Producer();
        Assert.That(Subscribe(stays, FramesWanted, V4l2.EventSubFlSendInitial), Is.Zero);

        H.Driver.PostEventBuffers(16);
        var e = stays.NextEvent(Wait) ?? throw new AssertionException("no event");
        Assert.That(MediaRequests.Read<VirtioMediaEventHeader>(e).SessionId, Is.EqualTo(stays.Session), "the closed session's event never arrives");
    }

    private static uint Subscribe(OutputProducer producer, uint id, uint flags = 0) =>
        producer.Ioctl(V4l2IoctlNumber.SubscribeEvent, MediaRequests.EventSubscription(V4l2.EventCtrl, id, flags), 0).Status;

    /// <summary>
    /// An EVT_EVENT (144 bytes) checked byte for byte: header (type 2, session), then the v4l2_event at +8: type CTRL,
    /// u.ctrl (changes, type BOOLEAN, value, flags READ_ONLY, min 0, max 1, step 1, default 0) and id Frames Wanted;
    /// pending, sequence, timestamp and reserved zero (the guest's V4L2 core fills the first three).
    /// </summary>
    private static void AssertControlEvent(byte[] e, uint session, uint changes, int value)
    {
        Assert.That(e, Has.Length.EqualTo(144));
        AssertWords(e, (0, VirtioMediaWire.EventV4l2, "event type EVENT"), (4, session, "session"), (8, V4l2.EventCtrl, "v4l2_event.type"),
            (16, changes, "u.ctrl.changes"), (20, V4l2.CtrlTypeBoolean, "u.ctrl.type"), (24, (uint)value, "u.ctrl.value"),
            (32, V4l2.CtrlFlagReadOnly, "u.ctrl.flags"), (36, 0, "minimum"), (40, 1, "maximum"), (44, 1, "step"), (48, 0, "default"),
            (104, FramesWanted, "v4l2_event.id"));
        AssertZeroOutside(e, "EVT_EVENT", (0, 12), (16, 12), (32, 4), (40, 8), (104, 4));
    }
}
