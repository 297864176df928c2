using Spectrum.Camera.Media.Device;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Tests.Media.Unit;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Output;

/// <summary>
/// The output device's controls on typed requests, without queues (a <see cref="DispatcherRig"/>): the NEXT_CTRL walk,
/// the descriptions, G/S_CTRL, and the kernel control framework's ext-controls rules with their error_idx, which
/// v4l2-compliance checks. The same answers go through the real vhost-user path in <see cref="OutputControlTests"/>.
/// </summary>
public sealed class OutputControlRulesTests
{
    private const uint FramesWanted = OutputControls.FramesWantedId;
    private const uint UserClass = V4l2.CidUserClass;
    private const uint CameraClass = 0x009a0000;
    private const ulong ControlsPointer = 0x7ffd_1234_5678;

    private DispatcherRig _rig = null!;
    private uint _session;

    [SetUp]
    public void OpenSession()
    {
        _rig = new DispatcherRig(output: true);
        _session = _rig.Open();
    }

    [Test]
    public void Frames_wanted_has_the_id_the_camera_vm_contract_names()
    {
        Assert.That(FramesWanted, Is.EqualTo(0x00981f00u));
    }

    [Test]
    public void The_next_ctrl_walk_finds_the_user_class_then_frames_wanted_then_nothing()
    {
        var cls = Query(V4l2.CtrlFlagNextCtrl);
        Assert.That((cls.Status, cls.Answer.Id, cls.Answer.Type, cls.Answer.Flags), Is.EqualTo((Errno.None, UserClass, V4l2.CtrlTypeCtrlClass,
            V4l2.CtrlFlagReadOnly | V4l2.CtrlFlagWriteOnly)));
        Assert.That((cls.Answer.Minimum, cls.Answer.Maximum, cls.Answer.Step, cls.Answer.DefaultValue), Is.EqualTo((0, 0, 0, 0)));

        var wanted = Query(UserClass | V4l2.CtrlFlagNextCtrl);
        Assert.That((wanted.Status, wanted.Answer.Id, wanted.Answer.Type, wanted.Answer.Flags),
            Is.EqualTo((Errno.None, FramesWanted, V4l2.CtrlTypeBoolean, V4l2.CtrlFlagReadOnly)));
        Assert.That((wanted.Answer.Minimum, wanted.Answer.Maximum, wanted.Answer.Step, wanted.Answer.DefaultValue), Is.EqualTo((0, 1, 1, 0)));

        Assert.That(Query(FramesWanted | V4l2.CtrlFlagNextCtrl).Status, Is.EqualTo(Errno.EINVAL), "the walk ends");
        Assert.That(Query(V4l2.CtrlFlagNextCompound).Status, Is.EqualTo(Errno.EINVAL), "no compound controls");
        Assert.That(Query(V4l2.CtrlFlagNextCtrl | V4l2.CtrlFlagNextCompound).Answer.Id, Is.EqualTo(UserClass), "both flags: every control");
    }

    [Test]
    public void Queryctrl_answers_names_and_zero_reserved_fields()
    {
        var (status, answer) = _rig.Ioctl(_session, QueryCtrl, MediaRequests.QueryControl(FramesWanted));
        Assert.That(status, Is.EqualTo(Errno.None));
        Assert.That(Media.V4l2Wire.CString(answer.AsSpan(8), 32), Is.EqualTo("Frames Wanted"));
        Media.V4l2Wire.AssertZeroOutside(answer, "v4l2_queryctrl", (0, 8), (8, 13), (40, 20));
        var (_, cls) = _rig.Ioctl(_session, QueryCtrl, MediaRequests.QueryControl(UserClass));
        Assert.That(Media.V4l2Wire.CString(cls.AsSpan(8), 32), Is.EqualTo("User Controls"));
    }

    [Test]
    public void Query_ext_ctrl_describes_one_32_bit_element()
    {
        var (status, answer) = _rig.Ioctl(_session, QueryExtCtrl, MediaRequests.QueryExtControl(FramesWanted));
        var q = MediaRequests.Read<V4l2QueryExtCtrl>(answer);
        Assert.That(status, Is.EqualTo(Errno.None));
        Assert.That((q.Id, q.Type, q.Minimum, q.Maximum, q.Step, q.DefaultValue, q.Flags, q.ElemSize, q.Elems, q.NrOfDims),
            Is.EqualTo((FramesWanted, V4l2.CtrlTypeBoolean, 0L, 1L, 1UL, 0L, V4l2.CtrlFlagReadOnly, 4u, 1u, 0u)));
        Media.V4l2Wire.AssertZeroOutside(answer, "v4l2_query_ext_ctrl", (0, 8), (8, 13), (40, 48));
        Assert.That(_rig.Ioctl(_session, QueryExtCtrl, MediaRequests.QueryExtControl(0)).Status, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void The_old_private_base_id_reaches_frames_wanted_under_that_id()
    {
        var alias = Query(V4l2.CidPrivateBase);
        Assert.That((alias.Status, alias.Answer.Id, alias.Answer.Type), Is.EqualTo((Errno.None, V4l2.CidPrivateBase, V4l2.CtrlTypeBoolean)));
        Assert.That(Query(V4l2.CidPrivateBase + 1).Status, Is.EqualTo(Errno.EINVAL), "only one private control");
        _rig.Controls!.SetFramesWanted(true);
        Assert.That(Get(V4l2.CidPrivateBase), Is.EqualTo((Errno.None, V4l2.CidPrivateBase, 1)));
    }

    [Test]
    public void G_ctrl_reads_frames_wanted_and_s_ctrl_is_refused_for_every_control()
    {
        Assert.That(Get(FramesWanted), Is.EqualTo((Errno.None, FramesWanted, 0)));
        _rig.Controls!.SetFramesWanted(true);
        Assert.That(Get(FramesWanted), Is.EqualTo((Errno.None, FramesWanted, 1)));
        Assert.That(Get(UserClass).Status, Is.EqualTo(Errno.EACCES), "a class control is write-only");
        Assert.That(Get(0).Status, Is.EqualTo(Errno.EINVAL));

        Assert.That(_rig.Ioctl(_session, SCtrl, MediaRequests.Control(FramesWanted, 0)).Status, Is.EqualTo(Errno.EACCES));
        Assert.That(_rig.Ioctl(_session, SCtrl, MediaRequests.Control(UserClass, 0)).Status, Is.EqualTo(Errno.EACCES));
        Assert.That(_rig.Ioctl(_session, SCtrl, MediaRequests.Control(0, 0)).Status, Is.EqualTo(Errno.EINVAL));
        Assert.That(Get(FramesWanted).Value, Is.EqualTo(1), "nothing the guest sends changes it");
    }

    [Test]
    public void G_ext_ctrls_of_no_control_succeeds_and_echoes_the_request()
    {
        var (status, head, _) = Ext(GExtCtrls, V4l2.CtrlWhichCurVal);
        Assert.That(status, Is.EqualTo(Errno.None));
        Assert.That((head.Which, head.Count, head.ErrorIndex, head.Reserved, head.Controls), Is.EqualTo((0u, 0u, 0u, 0u, ControlsPointer)));
        Assert.That(Ext(TryExtCtrls, V4l2.CtrlWhichCurVal).Status, Is.EqualTo(Errno.None));
        Assert.That(Ext(GExtCtrls, V4l2.CtrlClassUser).Status, Is.EqualTo(Errno.None), "the user class exists");
        Assert.That(Ext(GExtCtrls, CameraClass).Status, Is.EqualTo(Errno.EINVAL), "the camera class does not");
    }

    [TestCase(V4l2.CtrlWhichCurVal, 1)]
    [TestCase(V4l2.CtrlClassUser, 1)]
    [TestCase(V4l2.CtrlWhichDefVal, 0)]
    public void G_ext_ctrls_reads_frames_wanted_current_or_default(uint which, int expected)
    {
        _rig.Controls!.SetFramesWanted(true);
        var (status, head, controls) = Ext(GExtCtrls, which, (FramesWanted, 7));
        Assert.That((status, head.ErrorIndex, controls[0].Id, controls[0].Value), Is.EqualTo((Errno.None, 1u, FramesWanted, expected)));
    }

    [Test]
    public void Ext_ctrls_report_the_failing_control_as_the_kernel_does()
    {
        Assert.Multiple(() =>
        {
            // error_idx: the count for G and S (nothing was applied), the failing control's index for TRY's validation.
            Assert.That(Ext(GExtCtrls, 0, (UserClass, 0)).Outcome(), Is.EqualTo((Errno.EACCES, 1u)), "G of the write-only class control");
            Assert.That(Ext(TryExtCtrls, 0, (FramesWanted, 1)).Outcome(), Is.EqualTo((Errno.EACCES, 0u)), "TRY of a read-only control");
            Assert.That(Ext(SExtCtrls, 0, (FramesWanted, 1), (UserClass, 0)).Outcome(), Is.EqualTo((Errno.EACCES, 2u)), "S of read-only controls");
            Assert.That(Ext(GExtCtrls, 0, (0, 0)).Outcome(), Is.EqualTo((Errno.EINVAL, 1u)), "G of an unknown id");
            Assert.That(Ext(TryExtCtrls, 0, (FramesWanted, 0), (0, 0)).Outcome(), Is.EqualTo((Errno.EINVAL, 1u)), "TRY of an unknown second id");
            Assert.That(Ext(SExtCtrls, 0, (0, 0)).Outcome(), Is.EqualTo((Errno.EINVAL, 1u)), "S of an unknown id");
            Assert.That(Ext(GExtCtrls, CameraClass, (FramesWanted, 0)).Outcome(), Is.EqualTo((Errno.EINVAL, 1u)), "G of a control of another class");
            Assert.That(Ext(TryExtCtrls, CameraClass, (FramesWanted, 0)).Outcome(), Is.EqualTo((Errno.EINVAL, 0u)), "TRY of another class");
            Assert.That(Ext(TryExtCtrls, V4l2.CtrlWhichDefVal, (FramesWanted, 0)).Outcome(), Is.EqualTo((Errno.EINVAL, 1u)), "defaults cannot be set");
            Assert.That(Ext(GExtCtrls, V4l2.CtrlWhichRequestVal, (FramesWanted, 0)).Outcome(), Is.EqualTo((Errno.EINVAL, 1u)), "no requests");
            Assert.That(Ext(GExtCtrls, 0, (V4l2.CidPrivateBase, 0)).Outcome(), Is.EqualTo((Errno.EINVAL, 1u)), "old private ids are not ext controls");
        });
    }

    [Test]
    public void Ext_ctrls_zero_each_control_s_reserved_word_and_echo_everything_else()
    {
        var payload = MediaRequests.ExtControls(0, ControlsPointer, (FramesWanted, 0));
        payload[32 + 8] = 0x5A; // reserved2 of the one control
        var (status, answer) = _rig.Ioctl(_session, GExtCtrls, payload);
        Assert.That(status, Is.EqualTo(Errno.None));
        Assert.That(answer, Has.Length.EqualTo(32 + 20));
        var control = MediaRequests.Read<V4l2ExtControl>(answer.AsSpan(32));
        Assert.That((control.Id, control.Size, control.Reserved2), Is.EqualTo((FramesWanted, 0u, 0u)));
    }

    [Test]
    public void Ext_ctrls_naming_more_than_32_controls_or_more_than_the_payload_holds_are_einval_with_the_header_alone()
    {
        var many = Enumerable.Repeat((FramesWanted, 0), 33).ToArray();
        var (status, answer) = _rig.Ioctl(_session, GExtCtrls, MediaRequests.ExtControls(0, ControlsPointer, many));
        Assert.That((status, answer.Length), Is.EqualTo((Errno.EINVAL, 0)));

        var two = MediaRequests.ExtControls(0, ControlsPointer, (FramesWanted, 0), (FramesWanted, 0));
        Assert.That(_rig.Ioctl(_session, GExtCtrls, two[..^1]).Status, Is.EqualTo(Errno.EINVAL), "the second control cut short");
        Assert.That(_rig.Ioctl(_session, GExtCtrls, two, writable: 8 + 32 + 20).Status, Is.EqualTo(Errno.EINVAL), "no room to answer both");
        Assert.That(_rig.Ioctl(_session, GExtCtrls, two).Status, Is.EqualTo(Errno.None), "the same control twice is fine");
    }

    [Test]
    public void Subscriptions_take_control_events_of_known_controls_only()
    {
        Assert.That(Subscribe(SubscribeEvent, V4l2.EventCtrl, FramesWanted), Is.EqualTo(Errno.None));
        Assert.That(Subscribe(SubscribeEvent, V4l2.EventCtrl, UserClass), Is.EqualTo(Errno.None));
        Assert.That(Subscribe(SubscribeEvent, V4l2.EventCtrl, 0), Is.EqualTo(Errno.EINVAL), "unknown control");
        Assert.That(Subscribe(SubscribeEvent, 5, 0), Is.EqualTo(Errno.EINVAL), "source change: not here");
        Assert.That(Subscribe(SubscribeEvent, 0xFFFF_FFFF, 0, flags: 0xFFFF_FFFF), Is.EqualTo(Errno.EINVAL), "nonsense is refused, not a crash");
        Assert.That(Subscribe(UnsubscribeEvent, V4l2.EventCtrl, 0), Is.EqualTo(Errno.None), "unsubscribing what is not subscribed is fine");
        Assert.That(Subscribe(UnsubscribeEvent, 5, 0), Is.EqualTo(Errno.None));
        Assert.That(_rig.State.Sessions.TryGet(_session, out var session), Is.True);
        Assert.That(session!.SubscribedControls, Is.EqualTo(0b11u));
        Assert.That(Subscribe(UnsubscribeEvent, V4l2.EventAll, 0), Is.EqualTo(Errno.None));
        Assert.That(session.SubscribedControls, Is.Zero, "V4L2_EVENT_ALL drops every subscription");
    }

    [Test]
    public void An_initial_event_the_stopped_rings_cannot_take_is_owed_and_merged_with_later_changes()
    {
        Assert.That(Subscribe(SubscribeEvent, V4l2.EventCtrl, FramesWanted, V4l2.EventSubFlSendInitial), Is.EqualTo(Errno.None));
        _rig.State.Sessions.TryGet(_session, out var session);
        Assert.That(session!.PendingControlChanges, Is.EqualTo(V4l2.EventCtrlChValue | V4l2.EventCtrlChFlags));
        _rig.Controls!.SetFramesWanted(true);
        Assert.That(session.PendingControlChanges, Is.EqualTo(V4l2.EventCtrlChValue | V4l2.EventCtrlChFlags), "one merged event owed");
        Assert.That(Subscribe(UnsubscribeEvent, V4l2.EventCtrl, FramesWanted), Is.EqualTo(Errno.None));
        Assert.That(session.PendingControlChanges, Is.Zero, "nothing is owed for a control no longer subscribed");
    }

    private (Errno Status, V4l2QueryCtrl Answer) Query(uint id)
    {
        var (status, answer) = _rig.Ioctl(_session, QueryCtrl, MediaRequests.QueryControl(id));
        return (status, status == Errno.None ? MediaRequests.Read<V4l2QueryCtrl>(answer) : default);
    }

    private (Errno Status, uint Id, int Value) Get(uint id)
    {
        var (status, answer) = _rig.Ioctl(_session, GCtrl, MediaRequests.Control(id, -5));
        var control = status == Errno.None ? MediaRequests.Read<V4l2Control>(answer) : default;
        return (status, control.Id, control.Value);
    }

    private ExtAnswer Ext(V4l2IoctlNumber code, uint which, params (uint Id, int Value)[] controls)
    {
        var (status, answer) = _rig.Ioctl(_session, code, MediaRequests.ExtControls(which, ControlsPointer, controls));
        Assert.That(answer, Has.Length.EqualTo(32 + (20 * controls.Length)), "an ext-controls answer carries its structures even with an error");
        var head = MediaRequests.Read<V4l2ExtControls>(answer);
        var read = Enumerable.Range(0, controls.Length).Select(i => MediaRequests.Read<V4l2ExtControl>(answer.AsSpan(32 + (20 * i)))).ToArray();
        return new ExtAnswer(status, head, read);
    }

    private Errno Subscribe(V4l2IoctlNumber code, uint type, uint id, uint flags = 0) =>
        _rig.Ioctl(_session, code, MediaRequests.EventSubscription(type, id, flags)).Status;

    private readonly record struct ExtAnswer(Errno Status, V4l2ExtControls Head, V4l2ExtControl[] Controls)
    {
        public (Errno Status, uint ErrorIndex) Outcome() => (Status, Head.ErrorIndex);
    }
}
