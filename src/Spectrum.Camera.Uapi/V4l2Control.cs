using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct v4l2_control (8 bytes): VIDIOC_G_CTRL, VIDIOC_S_CTRL.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct V4l2Control
{
    public uint Id;
    public int Value;
}
