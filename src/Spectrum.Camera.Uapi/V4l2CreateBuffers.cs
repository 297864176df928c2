using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>
/// struct v4l2_create_buffers (256 bytes): VIDIOC_CREATE_BUFS. max_num_buffers is a reserved word in headers before
/// Linux 6.10; the layout is the same either way.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
public unsafe struct V4l2CreateBuffers
{
    [FieldOffset(0)]
    public uint Index;

    [FieldOffset(4)]
    public uint Count;

    [FieldOffset(8)]
    public uint Memory;

    [FieldOffset(16)]
    public V4l2Format Format;

    [FieldOffset(224)]
    public uint Capabilities;

    [FieldOffset(228)]
    public uint Flags;

    [FieldOffset(232)]
    public uint MaxNumBuffers;

    [FieldOffset(236)]
    public fixed uint Reserved[5];
}
