using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>
/// struct v4l2_ext_controls (32 bytes): VIDIOC_G/S/TRY_EXT_CTRLS. On the virtio-media wire its <see cref="Count"/>
/// struct v4l2_ext_control follow it in both the readable and the writable part; <see cref="Controls"/> is the
/// application's pointer, which the device echoes and never follows.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct V4l2ExtControls
{
    /// <summary>which (also ctrl_class): 0 for current values, a control class, or a WHICH_*_VAL.</summary>
    [FieldOffset(0)]
    public uint Which;

    [FieldOffset(4)]
    public uint Count;

    [FieldOffset(8)]
    public uint ErrorIndex;

    [FieldOffset(12)]
    public int RequestFd;

    [FieldOffset(16)]
    public uint Reserved;

    [FieldOffset(24)]
    public ulong Controls;
}
