using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>
/// struct v4l2_buffer (88 bytes on 64-bit): QUERYBUF, PREPARE_BUF, QBUF, DQBUF, and the buffer of an EVT_DQBUF. The m
/// union is 8 bytes (userptr is an unsigned long): m.offset for MMAP buffers, m.userptr for USERPTR ones.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 88)]
public struct V4l2Buffer
{
    [FieldOffset(0)]
    public uint Index;

    [FieldOffset(4)]
    public uint Type;

    [FieldOffset(8)]
    public uint BytesUsed;

    [FieldOffset(12)]
    public uint Flags;

    [FieldOffset(16)]
    public uint Field;

    /// <summary>timestamp.tv_sec.</summary>
    [FieldOffset(24)]
    public long TimestampSeconds;

    /// <summary>timestamp.tv_usec.</summary>
    [FieldOffset(32)]
    public long TimestampMicroseconds;

    [FieldOffset(40)]
    public V4l2Timecode Timecode;

    [FieldOffset(56)]
    public uint Sequence;

    [FieldOffset(60)]
    public uint Memory;

    /// <summary>m.offset: the mmap offset of an MMAP buffer.</summary>
    [FieldOffset(64)]
    public uint Offset;

    /// <summary>m.userptr: the application's address of a USERPTR buffer (a cookie to the device).</summary>
    [FieldOffset(64)]
    public ulong UserPtr;

    [FieldOffset(72)]
    public uint Length;

    [FieldOffset(76)]
    public uint Reserved2;

    [FieldOffset(80)]
    public int RequestFd;
}

/// <summary>struct v4l2_timecode (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2Timecode
{
    public uint Type;
    public uint Flags;
    public byte Frames;
    public byte Seconds;
    public byte Minutes;
    public byte Hours;
    public fixed byte UserBits[4];
}
