using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct v4l2_input (80 bytes on 64-bit: std is a u64): VIDIOC_ENUMINPUT.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2Input
{
    public const int NameCapacity = 32;

    public uint Index;
    public fixed byte Name[NameCapacity];
    public uint Type;
    public uint AudioSet;
    public uint Tuner;
    public ulong Std;
    public uint Status;
    public uint Capabilities;
    public fixed uint Reserved[3];

    public readonly string NameText
    {
        get
        {
            fixed (byte* p = Name)
            {
                return V4l2Text.Decode(p, NameCapacity);
            }
        }
    }

    /// <summary>An input description (its name truncated to 31 bytes and NUL-padded).</summary>
    public static V4l2Input Create(uint index, string name, uint type)
    {
        var input = new V4l2Input { Index = index, Type = type };
        V4l2Text.Encode(name, input.Name, NameCapacity);
        return input;
    }
}
