using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>
/// struct v4l2_format (208 bytes on 64-bit: the fmt union is 8-aligned because v4l2_window holds pointers) with its
/// single-planar fmt.pix member; the rest of the 200-byte union is never read or written.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 208)]
public struct V4l2Format
{
    [FieldOffset(0)]
    public uint Type;

    [FieldOffset(8)]
    public V4l2PixFormat Pix;
}

/// <summary>struct v4l2_pix_format (48 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct V4l2PixFormat
{
    public uint Width;
    public uint Height;
    public uint PixelFormat;
    public uint Field;
    public uint BytesPerLine;
    public uint SizeImage;
    public uint Colorspace;
    public uint Priv;
    public uint Flags;
    public uint YcbcrEncoding;
    public uint Quantization;
    public uint TransferFunction;
}
