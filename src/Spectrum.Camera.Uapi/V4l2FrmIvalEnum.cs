using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct v4l2_frmivalenum (52 bytes): VIDIOC_ENUM_FRAMEINTERVALS; the union is discrete or stepwise.</summary>
[StructLayout(LayoutKind.Explicit, Size = 52)]
public unsafe struct V4l2FrmIvalEnum
{
    [FieldOffset(0)]
    public uint Index;

    [FieldOffset(4)]
    public uint PixelFormat;

    [FieldOffset(8)]
    public uint Width;

    [FieldOffset(12)]
    public uint Height;

    [FieldOffset(16)]
    public uint Type;

    /// <summary>discrete, also stepwise.min.</summary>
    [FieldOffset(20)]
    public V4l2Fract Discrete;

    [FieldOffset(20)]
    public V4l2Fract Min;

    [FieldOffset(28)]
    public V4l2Fract Max;

    [FieldOffset(36)]
    public V4l2Fract Step;

    [FieldOffset(44)]
    public fixed uint Reserved[2];
}
