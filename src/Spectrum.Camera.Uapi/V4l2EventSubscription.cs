using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct v4l2_event_subscription (32 bytes): VIDIOC_SUBSCRIBE_EVENT, VIDIOC_UNSUBSCRIBE_EVENT.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2EventSubscription
{
    public uint Type;

    /// <summary>The event's source: the control id for V4L2_EVENT_CTRL.</summary>
    public uint Id;

    public uint Flags;
    public fixed uint Reserved[5];
}
