using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>
/// struct v4l2_event (136 bytes on 64-bit): what VIDIOC_DQEVENT returns, and what an EVT_EVENT carries. Only the
/// control-event member of the 64-byte union is named; the rest of the union is zero. The guest's V4L2 core assigns
/// pending, sequence and timestamp itself.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 136)]
public unsafe struct V4l2Event
{
    [FieldOffset(0)]
    public uint Type;

    /// <summary>u.ctrl: the control event.</summary>
    [FieldOffset(8)]
    public V4l2EventCtrl Ctrl;

    [FieldOffset(72)]
    public uint Pending;

    [FieldOffset(76)]
    public uint Sequence;

    /// <summary>timestamp.tv_sec.</summary>
    [FieldOffset(80)]
    public long TimestampSeconds;

    /// <summary>timestamp.tv_nsec.</summary>
    [FieldOffset(88)]
    public long TimestampNanoseconds;

    /// <summary>The event's source: the control id for V4L2_EVENT_CTRL.</summary>
    [FieldOffset(96)]
    public uint Id;

    [FieldOffset(100)]
    public fixed uint Reserved[8];
}

/// <summary>struct v4l2_event_ctrl (40 bytes): what changed about a control, and its value, flags and limits now.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public struct V4l2EventCtrl
{
    /// <summary>V4L2_EVENT_CTRL_CH_* bits.</summary>
    [FieldOffset(0)]
    public uint Changes;

    [FieldOffset(4)]
    public uint Type;

    [FieldOffset(8)]
    public int Value;

    [FieldOffset(8)]
    public long Value64;

    [FieldOffset(16)]
    public uint Flags;

    [FieldOffset(20)]
    public int Minimum;

    [FieldOffset(24)]
    public int Maximum;

    [FieldOffset(28)]
    public int Step;

    [FieldOffset(32)]
    public int DefaultValue;
}
