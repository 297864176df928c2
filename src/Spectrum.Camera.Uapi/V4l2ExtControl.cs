using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>
/// struct v4l2_ext_control (20 bytes, packed: its 64-bit value is unaligned): one control of an ext-controls call.
/// <see cref="Value"/>, <see cref="Value64"/> and <see cref="Payload"/> share the union at +12.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 20, Pack = 1)]
public struct V4l2ExtControl
{
    [FieldOffset(0)]
    public uint Id;

    /// <summary>Bytes behind <see cref="Payload"/> for a compound or string control; ignored for plain ones.</summary>
    [FieldOffset(4)]
    public uint Size;

    [FieldOffset(8)]
    public uint Reserved2;

    [FieldOffset(12)]
    public int Value;

    [FieldOffset(12)]
    public long Value64;

    [FieldOffset(12)]
    public ulong Payload;
}
