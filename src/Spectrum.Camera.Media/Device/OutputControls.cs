using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The output device's controls, served as the kernel's V4L2 control framework serves a driver's: "Frames Wanted", a
/// read-only boolean that tells the camera VM whether the host wants its frames (docs/camera-vm.md), and the User
/// Controls class control that V4L2 lists before the controls of its class. QUERYCTRL and QUERY_EXT_CTRL (with the
/// NEXT_CTRL walk and the old PRIVATE_BASE alias), G_CTRL and G_EXT_CTRLS read them; S_CTRL, S_EXT_CTRLS and
/// TRY_EXT_CTRLS are refused with EACCES after the same validation, so nothing the guest sends changes a control.
/// Sessions that subscribe to a control's V4L2_EVENT_CTRL get an EVT_EVENT whenever its value changes, and the current
/// value at once with V4L2_EVENT_SUB_FL_SEND_INITIAL, queued before the SUBSCRIBE answer.
/// </summary>
internal sealed class OutputControls
{
    /// <summary>The Frames Wanted control: V4L2_CID_USER_BASE + 0x1600, clear of the driver ranges in linux/v4l2-controls.h.</summary>
    public const uint FramesWantedId = V4l2.CidUserBase + 0x1600;

    /// <summary>Most controls one ext-controls call may name (a real one names one or two; the kernel's limit is 1024).</summary>
    public const int MaxExtControls = 32;

    private const string Component = "virtio-media";
    private const int FramesWanted = 1;

    /// <summary>The class bits of a control id (V4L2_CTRL_ID2WHICH).</summary>
    private const uint WhichMask = 0x0fff0000;

    /// <summary>The controls in id order (the NEXT_CTRL walk's order); a session's subscription bit i is control i.</summary>
    private static readonly ControlDefinition[] Controls =
    [
        new(V4l2.CidUserClass, "User Controls", V4l2.CtrlTypeCtrlClass, 0, 0, 0, 0, V4l2.CtrlFlagReadOnly | V4l2.CtrlFlagWriteOnly),
        new(FramesWantedId, "Frames Wanted", V4l2.CtrlTypeBoolean, 0, 1, 1, 0, V4l2.CtrlFlagReadOnly),
    ];

    private static readonly int ExtControlsSize = WireStruct.SizeOf<V4l2ExtControls>();
    private static readonly int ExtControlSize = WireStruct.SizeOf<V4l2ExtControl>();

    private readonly DeviceState _state;
    private readonly VirtqueueTransport _transport;
    private readonly V4l2ExtControl[] _extControls = new V4l2ExtControl[MaxExtControls];
    private readonly byte[] _extAnswer = new byte[CommandResponse.MaxPayload];

    public OutputControls(DeviceState state, VirtqueueTransport transport)
    {
        if (ExtControlsSize + (MaxExtControls * ExtControlSize) > CommandResponse.MaxPayload)
        {
            throw new InvalidOperationException("an ext-controls answer of the most controls does not fit a response");
        }

        _state = state;
        _transport = transport;
    }

    /// <summary>How G/S/TRY_EXT_CTRLS treat the controls they name.</summary>
    public enum ExtAccess
    {
        Get,
        Try,
        Set,
    }

    /// <summary>The value of Frames Wanted: the host wants frames now.</summary>
    public bool FramesWantedValue { get; private set; }

    /// <summary>Control events queued for the driver since the device started.</summary>
    public ulong EventsSent { get; private set; }

    /// <summary>Sets Frames Wanted and tells every session subscribed to it.</summary>
    public void SetFramesWanted(bool wanted)
    {
        if (wanted == FramesWantedValue)
        {
            return;
        }

        FramesWantedValue = wanted;
        foreach (var session in _state.Sessions.All)
        {
            if ((session.SubscribedControls & (1u << FramesWanted)) != 0)
            {
                session.PendingControlChanges |= V4l2.EventCtrlChValue;
                Flush(session);
            }
        }
    }

    /// <summary>Queues the control events sessions are still owed, as far as the eventq backlog has room.</summary>
    public void FlushPending()
    {
        foreach (var session in _state.Sessions.All)
        {
            Flush(session);
        }
    }

    /// <summary>A closed session's control events that have not reached the driver are withdrawn.</summary>
    public void SessionClosed(uint sessionId) => _transport.DiscardEvents(sessionId, VirtioMediaWire.EventV4l2);

    /// <summary>QUERYCTRL: a control's description with 32-bit limits (see <see cref="TryQuery"/> for which control).</summary>
    public static Errno Query(in V4l2QueryCtrl request, out V4l2QueryCtrl answer) =>
        Describe(request.Id, static (control, id) => control.Describe(id), out answer);

    /// <summary>QUERY_EXT_CTRL: a control's description with 64-bit limits and its element layout.</summary>
    public static Errno QueryExtended(in V4l2QueryExtCtrl request, out V4l2QueryExtCtrl answer) =>
        Describe(request.Id, static (control, id) => control.DescribeExtended(id), out answer);

    /// <summary>G_CTRL: the value of a readable control; a class control is write-only (EACCES), an unknown id EINVAL.</summary>
    public Errno Get(in V4l2Control request, out V4l2Control answer)
    {
        answer = default;
        if (!TryFind(request.Id, aliasPrivateBase: true, out var index))
        {
            return Errno.EINVAL;
        }

        if (Controls[index].IsWriteOnly)
        {
            return Errno.EACCES;
        }

        answer = new V4l2Control { Id = request.Id, Value = ValueOf(index, V4l2.CtrlWhichCurVal) };
        return Errno.None;
    }

    /// <summary>S_CTRL: every control here is read-only (EACCES); an unknown id is EINVAL.</summary>
    public static Errno Set(in V4l2Control request, out V4l2Control answer)
    {
        answer = default;
        return TryFind(request.Id, aliasPrivateBase: true, out _) ? Errno.EACCES : Errno.EINVAL;
    }

    /// <summary>
    /// G/S/TRY_EXT_CTRLS: reads the v4l2_ext_controls and its controls from the payload, answers both with error_idx
    /// set as the kernel sets it (the failing control's index for TRY's validation, the count otherwise), reserved
    /// fields zero and everything else echoed, including the application's controls pointer.
    /// </summary>
    public bool ServeExtended(in IoctlCall call, CommandResponse response, ExtAccess access)
    {
        if (!WireStruct.TryRead(call.Payload, out V4l2ExtControls head))
        {
            CommandDispatcher.Fault(response, $"{call.Code.Name()} payload is {call.Payload.Length} bytes, needs {ExtControlsSize}", Errno.EINVAL);
            return false;
        }

        if (head.Count > MaxExtControls)
        {
            Log.GuestFault(Component, "ext-controls", $"session {call.Session.Id}: {call.Code.Name()} names {head.Count} controls, at most {MaxExtControls}");
            response.Answer(Errno.EINVAL);
            return false;
        }

        var count = (int)head.Count;
        var size = ExtControlsSize + (count * ExtControlSize);
        if (call.Payload.Length < size || !response.HasRoomFor(size))
        {
            CommandDispatcher.Fault(response,
                $"{call.Code.Name()} of {count} controls needs {size} bytes each way; it has {call.Payload.Length} readable and {response.Capacity} writable",
                Errno.EINVAL);
            return false;
        }

        var controls = _extControls.AsSpan(0, count);
        for (var i = 0; i < count; i++)
        {
            controls[i] = WireStruct.Read<V4l2ExtControl>(call.Payload[(ExtControlsSize + (i * ExtControlSize))..]);
            controls[i].Reserved2 = 0;
        }

        head.Reserved = 0;
        var errno = Evaluate(access, ref head, controls);
        var answer = _extAnswer.AsSpan(0, size);
        WireStruct.Write(answer, in head);
        for (var i = 0; i < count; i++)
        {
            WireStruct.Write(answer[(ExtControlsSize + (i * ExtControlSize))..], in controls[i]);
        }

        call.Session.Ioctls++;
        response.Answer(errno, answer);
        return errno == Errno.None;
    }

    /// <summary>
    /// SUBSCRIBE_EVENT: V4L2_EVENT_CTRL of one of the controls (any other type, or an unknown id, is EINVAL). A second
    /// subscription to the same control changes nothing. With V4L2_EVENT_SUB_FL_SEND_INITIAL the current value is
    /// queued at once (a class control has none); other flag and reserved bits are ignored, as V4L2 ignores them.
    /// </summary>
    public Errno Subscribe(in IoctlCall call, in V4l2EventSubscription request, out NoPayload answer)
    {
        answer = default;
        if (request.Type != V4l2.EventCtrl || !TryFind(request.Id, aliasPrivateBase: false, out var index))
        {
            return Errno.EINVAL;
        }

        var session = call.Session;
        var bit = 1u << index;
        if ((session.SubscribedControls & bit) != 0)
        {
            return Errno.None;
        }

        session.SubscribedControls |= bit;
        if ((request.Flags & V4l2.EventSubFlSendInitial) != 0 && !Controls[index].IsClass)
        {
            session.PendingControlChanges |= V4l2.EventCtrlChValue | V4l2.EventCtrlChFlags;
            Flush(session);
        }

        return Errno.None;
    }

    /// <summary>UNSUBSCRIBE_EVENT: V4L2_EVENT_ALL drops every subscription; anything not subscribed is not an error (as in V4L2).</summary>
    public static Errno Unsubscribe(in IoctlCall call, in V4l2EventSubscription request, out NoPayload answer)
    {
        answer = default;
        var session = call.Session;
        if (request.Type == V4l2.EventAll)
        {
            session.SubscribedControls = 0;
        }
        else if (request.Type == V4l2.EventCtrl && TryFind(request.Id, aliasPrivateBase: false, out var index))
        {
            session.SubscribedControls &= ~(1u << index);
        }

        if ((session.SubscribedControls & (1u << FramesWanted)) == 0)
        {
            session.PendingControlChanges = 0;
        }

        return Errno.None;
    }

    /// <summary>
    /// The control a QUERYCTRL or QUERY_EXT_CTRL id names: with NEXT_CTRL the first control after the id (there are
    /// no compound controls, so NEXT_COMPOUND alone finds none); otherwise the control itself, or for the old
    /// V4L2_CID_PRIVATE_BASE the first driver-private user control, answered under the id asked for.
    /// </summary>
    private static bool TryQuery(uint requestedId, out ControlDefinition control, out uint answeredId)
    {
        var next = requestedId & (V4l2.CtrlFlagNextCtrl | V4l2.CtrlFlagNextCompound);
        var id = requestedId & V4l2.CtrlIdMask;
        control = default;
        answeredId = 0;
        if (next != 0)
        {
            if ((next & V4l2.CtrlFlagNextCtrl) == 0)
            {
                return false;
            }

            foreach (var candidate in Controls)
            {
                if (candidate.Id > id)
                {
                    (control, answeredId) = (candidate, candidate.Id);
                    return true;
                }
            }

            return false;
        }

        if (!TryFind(id, aliasPrivateBase: true, out var index))
        {
            return false;
        }

        control = Controls[index];
        answeredId = id >= V4l2.CidPrivateBase ? id : control.Id;
        return true;
    }

    private static Errno Describe<T>(uint requestedId, Func<ControlDefinition, uint, T> describe, out T answer)
        where T : unmanaged
    {
        var found = TryQuery(requestedId, out var control, out var answeredId);
        answer = found ? describe(control, answeredId) : default;
        return found ? Errno.None : Errno.EINVAL;
    }

    private static bool TryFind(uint id, bool aliasPrivateBase, out int index)
    {
        if (aliasPrivateBase && id == V4l2.CidPrivateBase)
        {
            index = FramesWanted;
            return true;
        }

        for (index = 0; index < Controls.Length; index++)
        {
            if (Controls[index].Id == id)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The kernel control framework's rules for an ext-controls call over these controls: a which of WHICH_REQUEST_VAL
    /// (no requests here) or, for TRY and S, WHICH_DEF_VAL is EINVAL; a which naming a class admits only that class's
    /// controls; old PRIVATE_BASE ids and unknown ids are EINVAL; then G of a write-only control, and TRY or S of a
    /// read-only one (all of them), are EACCES.
    /// </summary>
    private Errno Evaluate(ExtAccess access, ref V4l2ExtControls head, Span<V4l2ExtControl> controls)
    {
        var count = (uint)controls.Length;
        head.ErrorIndex = count;
        if (head.Which == V4l2.CtrlWhichRequestVal || (head.Which == V4l2.CtrlWhichDefVal && access != ExtAccess.Get))
        {
            return Errno.EINVAL;
        }

        var classWhich = head.Which is not (V4l2.CtrlWhichCurVal or V4l2.CtrlWhichDefVal);
        if (count == 0)
        {
            return !classWhich || head.Which == V4l2.CtrlClassUser ? Errno.None : Errno.EINVAL;
        }

        for (var i = 0; i < controls.Length; i++)
        {
            var id = controls[i].Id & V4l2.CtrlIdMask;
            if ((classWhich && (id & WhichMask) != head.Which) || id >= V4l2.CidPrivateBase ||
                !TryFind(id, aliasPrivateBase: false, out _))
            {
                head.ErrorIndex = access == ExtAccess.Try ? (uint)i : count;
                return Errno.EINVAL;
            }
        }

        if (access != ExtAccess.Get)
        {
            // Every control is read-only: validation stops at the first, and S reports the count as the kernel does.
            head.ErrorIndex = access == ExtAccess.Try ? 0 : count;
            return Errno.EACCES;
        }

        for (var i = 0; i < controls.Length; i++)
        {
            TryFind(controls[i].Id & V4l2.CtrlIdMask, aliasPrivateBase: false, out var index);
            if (Controls[index].IsWriteOnly)
            {
                return Errno.EACCES;
            }
        }

        for (var i = 0; i < controls.Length; i++)
        {
            TryFind(controls[i].Id & V4l2.CtrlIdMask, aliasPrivateBase: false, out var index);
            controls[i].Value = ValueOf(index, head.Which);
        }

        return Errno.None;
    }

    private int ValueOf(int index, uint which) =>
        which == V4l2.CtrlWhichDefVal ? Controls[index].DefaultValue : index == FramesWanted && FramesWantedValue ? 1 : 0;

    /// <summary>Queues the session's owed control event if the eventq backlog has room now; otherwise it stays owed.</summary>
    private void Flush(MediaSession session)
    {
        if (session.PendingControlChanges == 0 || !_transport.CanSendEvent)
        {
            return;
        }

        var control = Controls[FramesWanted];
        var e = new VirtioMediaV4l2Event
        {
            Header = new VirtioMediaEventHeader { Event = VirtioMediaWire.EventV4l2, SessionId = session.Id },
            Event = new V4l2Event
            {
                Type = V4l2.EventCtrl,
                Id = control.Id,
                Ctrl = control.EventOf(session.PendingControlChanges, ValueOf(FramesWanted, V4l2.CtrlWhichCurVal)),
            },
        };
        session.PendingControlChanges = 0;
        _transport.SendEvent(in e);
        EventsSent++;
    }
}
