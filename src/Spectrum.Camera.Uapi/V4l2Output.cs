using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct v4l2_output (72 bytes on 64-bit: std is a u64): VIDIOC_ENUMOUTPUT.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2Output
{
    public const int NameCapacity = 32;

    public uint Index;
    public fixed byte Name[NameCapacity];
    public uint Type;
    public uint AudioSet;
    public uint Modulator;
    public ulong Std;
    public uint Capabilities;
    public fixed uint Reserved[3];

    /// <summary>An output description (its name truncated to 31 bytes and NUL-padded).</summary>
    public static V4l2Output Create(uint index, string name, uint type)
    {
        var output = new V4l2Output { Index = index, Type = type };
        V4l2Text.Encode(name, output.Name, NameCapacity);
        return output;
    }
}
