using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct v4l2_fmtdesc (64 bytes): VIDIOC_ENUM_FMT.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2FmtDesc
{
    public const int DescriptionCapacity = 32;

    public uint Index;
    public uint Type;
    public uint Flags;
    public fixed byte Description[DescriptionCapacity];
    public uint PixelFormat;
    public uint MbusCode;
    public fixed uint Reserved[3];

    public readonly string DescriptionText
    {
        get
        {
            fixed (byte* p = Description)
            {
                return V4l2Text.Decode(p, DescriptionCapacity);
            }
        }
    }

    /// <summary>A format description of <paramref name="type"/> (its text truncated to 31 bytes and NUL-padded).</summary>
    public static V4l2FmtDesc Create(uint pixelFormat, string description, uint flags = 0, uint index = 0, uint type = V4l2.BufTypeVideoCapture)
    {
        var d = new V4l2FmtDesc { Index = index, Type = type, PixelFormat = pixelFormat, Flags = flags };
        V4l2Text.Encode(description, d.Description, DescriptionCapacity);
        return d;
    }
}
