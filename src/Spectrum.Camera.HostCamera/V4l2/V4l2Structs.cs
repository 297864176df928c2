using System.Runtime.InteropServices;
using System.Text;

namespace Spectrum.Camera.Host.V4l2;

// linux/videodev2.h on x86_64 (LP64): the native layouts the host kernel's ioctls read and write. Unions are flattened
// to the members this project uses (explicit offsets). NativeLayoutTests compares every size and offset with gcc.

/// <summary>struct v4l2_capability (104 bytes): VIDIOC_QUERYCAP.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct V4l2Capability
{
    public fixed byte Driver[16];
    public fixed byte Card[32];
    public fixed byte BusInfo[32];
    public uint Version;
    public uint Capabilities;
    public uint DeviceCaps;
    public fixed uint Reserved[3];

    public readonly string DriverName
    {
        get
        {
            fixed (byte* p = Driver)
            {
                return V4l2Text.Decode(p, 16);
            }
        }
    }

    public readonly string CardName
    {
        get
        {
            fixed (byte* p = Card)
            {
                return V4l2Text.Decode(p, 32);
            }
        }
    }

    public readonly string Bus
    {
        get
        {
            fixed (byte* p = BusInfo)
            {
                return V4l2Text.Decode(p, 32);
            }
        }
    }

    /// <summary>The capabilities of this node: device_caps when the driver fills it (V4L2_CAP_DEVICE_CAPS), else the whole device's.</summary>
    public readonly uint NodeCapabilities => (Capabilities & V4l2Uapi.CapDeviceCaps) != 0 ? DeviceCaps : Capabilities;

    /// <summary>Test helper: a capability answer with the given texts.</summary>
    public static V4l2Capability Create(string driver, string card, string bus, uint capabilities, uint deviceCaps)
    {
        var c = default(V4l2Capability);
        V4l2Text.Encode(driver, c.Driver, 16);
        V4l2Text.Encode(card, c.Card, 32);
        V4l2Text.Encode(bus, c.BusInfo, 32);
        c.Capabilities = capabilities;
        c.DeviceCaps = deviceCaps;
        return c;
    }
}

/// <summary>struct v4l2_fmtdesc (64 bytes): VIDIOC_ENUM_FMT.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct V4l2FmtDesc
{
    public uint Index;
    public uint Type;
    public uint Flags;
    public fixed byte Description[32];
    public uint PixelFormat;
    public uint MbusCode;
    public fixed uint Reserved[3];

    public readonly string DescriptionText
    {
        get
        {
            fixed (byte* p = Description)
            {
                return V4l2Text.Decode(p, 32);
            }
        }
    }

    /// <summary>Test helper.</summary>
    public static V4l2FmtDesc Create(uint pixelFormat, string description, uint flags = 0)
    {
        var d = new V4l2FmtDesc { PixelFormat = pixelFormat, Flags = flags, Type = V4l2Uapi.BufTypeVideoCapture };
        V4l2Text.Encode(description, d.Description, 32);
        return d;
    }
}

/// <summary>struct v4l2_frmsizeenum (44 bytes): VIDIOC_ENUM_FRAMESIZES; the union is discrete or stepwise.</summary>
[StructLayout(LayoutKind.Explicit, Size = 44)]
internal unsafe struct V4l2FrmSizeEnum
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

/// <summary>struct v4l2_frmivalenum (52 bytes): VIDIOC_ENUM_FRAMEINTERVALS; the union is discrete or stepwise.</summary>
[StructLayout(LayoutKind.Explicit, Size = 52)]
internal unsafe struct V4l2FrmIvalEnum
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

/// <summary>struct v4l2_fract.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct V4l2Fract
{
    public uint Numerator;
    public uint Denominator;

    public V4l2Fract(uint numerator, uint denominator) => (Numerator, Denominator) = (numerator, denominator);
}

/// <summary>struct v4l2_format (208 bytes on 64-bit: the union is 8-aligned) with its single-planar fmt.pix member.</summary>
[StructLayout(LayoutKind.Explicit, Size = 208)]
internal struct V4l2Format
{
    [FieldOffset(0)]
    public uint Type;

    [FieldOffset(8)]
    public V4l2PixFormat Pix;
}

/// <summary>struct v4l2_pix_format (48 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct V4l2PixFormat
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

/// <summary>struct v4l2_streamparm (204 bytes) with its parm.capture member.</summary>
[StructLayout(LayoutKind.Explicit, Size = 204)]
internal struct V4l2StreamParm
{
    [FieldOffset(0)]
    public uint Type;

    [FieldOffset(4)]
    public V4l2CaptureParm Capture;
}

/// <summary>struct v4l2_captureparm (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct V4l2CaptureParm
{
    public uint Capability;
    public uint CaptureMode;
    public V4l2Fract TimePerFrame;
    public uint ExtendedMode;
    public uint ReadBuffers;
    public fixed uint Reserved[4];
}

/// <summary>struct v4l2_requestbuffers (20 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct V4l2RequestBuffers
{
    public uint Count;
    public uint Type;
    public uint Memory;
    public uint Capabilities;
    public byte Flags;
    public fixed byte Reserved[3];
}

/// <summary>struct v4l2_buffer (88 bytes on 64-bit): QUERYBUF, QBUF, DQBUF. The m union is read as m.offset.</summary>
[StructLayout(LayoutKind.Explicit, Size = 88)]
internal struct V4l2Buffer
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

    [FieldOffset(56)]
    public uint Sequence;

    [FieldOffset(60)]
    public uint Memory;

    /// <summary>m.offset: the mmap offset of an MMAP buffer (the union is 8 bytes, userptr being a long).</summary>
    [FieldOffset(64)]
    public uint Offset;

    [FieldOffset(72)]
    public uint Length;

    [FieldOffset(76)]
    public uint Reserved2;

    [FieldOffset(80)]
    public int RequestFd;
}

/// <summary>Fixed-size NUL-padded ASCII text fields of the V4L2 structs.</summary>
internal static unsafe class V4l2Text
{
    public static string Decode(byte* p, int capacity)
    {
        var span = new ReadOnlySpan<byte>(p, capacity);
        var end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }

    public static void Encode(string text, byte* p, int capacity)
    {
        var span = new Span<byte>(p, capacity);
        span.Clear();
        var bytes = Encoding.UTF8.GetBytes(text);
        bytes.AsSpan(0, Math.Min(bytes.Length, capacity - 1)).CopyTo(span);
    }
}
