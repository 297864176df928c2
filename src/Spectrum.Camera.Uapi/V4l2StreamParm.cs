using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct v4l2_streamparm (204 bytes): G/S_PARM; parm.capture for capture types, parm.output for output types.</summary>
[StructLayout(LayoutKind.Explicit, Size = 204)]
public struct V4l2StreamParm
{
    [FieldOffset(0)]
    public uint Type;

    [FieldOffset(4)]
    public V4l2CaptureParm Capture;

    [FieldOffset(4)]
    public V4l2OutputParm Output;
}

/// <summary>struct v4l2_captureparm (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2CaptureParm
{
    public uint Capability;
    public uint CaptureMode;
    public V4l2Fract TimePerFrame;
    public uint ExtendedMode;
    public uint ReadBuffers;
    public fixed uint Reserved[4];
}

/// <summary>struct v4l2_outputparm (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2OutputParm
{
    public uint Capability;
    public uint OutputMode;
    public V4l2Fract TimePerFrame;
    public uint ExtendedMode;
    public uint WriteBuffers;
    public fixed uint Reserved[4];
}
