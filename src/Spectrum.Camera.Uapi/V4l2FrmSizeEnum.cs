using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct v4l2_frmsizeenum (44 bytes): VIDIOC_ENUM_FRAMESIZES; the union is discrete or stepwise.</summary>
[StructLayout(LayoutKind.Explicit, Size = 44)]
public unsafe struct V4l2FrmSizeEnum
{
    [FieldOffset(0)]
    public uint Index;

    [FieldOffset(4)]
    public uint PixelFormat;

    [FieldOffset(8)]
    public uint Type;

    /// <summary>discrete.width, also stepwise.min_width.</summary>
    [FieldOffset(12)]
    public uint DiscreteWidth;

    /// <summary>discrete.height, also stepwise.max_width.</summary>
    [FieldOffset(16)]
    public uint DiscreteHeight;

    [FieldOffset(12)]
    public uint MinWidth;

    [FieldOffset(16)]
    public uint MaxWidth;

    [FieldOffset(20)]
    public uint StepWidth;

    [FieldOffset(24)]
    public uint MinHeight;

    [FieldOffset(28)]
    public uint MaxHeight;

    [FieldOffset(32)]
    public uint StepHeight;

    [FieldOffset(36)]
    public fixed uint Reserved[2];
}
