using System.Text;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Media.Protocol;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// ENUM_FMT, G/S/TRY_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS over the stable menu. TRY/S_FMT adjust and never fail
/// for a valid type; every size probe (0x0, 2^32-1 squared) maps to a menu entry.
/// </summary>
internal sealed class FormatIoctls(CaptureState state)
{
    public IEnumerable<IoctlEntry> Entries =>
    [
        new(V4l2IoctlNumber.EnumFmt, V4l2.FmtDescSize, V4l2.FmtDescSize, EnumFmt),
        new(V4l2IoctlNumber.GFmt, V4l2.FormatSize, V4l2.FormatSize, GetFmt),
        new(V4l2IoctlNumber.SFmt, V4l2.FormatSize, V4l2.FormatSize, SetFmt),
        new(V4l2IoctlNumber.TryFmt, V4l2.FormatSize, V4l2.FormatSize, TryFmt),
        new(V4l2IoctlNumber.EnumFrameSizes, V4l2.FrmSizeEnumSize, V4l2.FrmSizeEnumSize, EnumFrameSizes),
        new(V4l2IoctlNumber.EnumFrameIntervals, V4l2.FrmIvalEnumSize, V4l2.FrmIvalEnumSize, EnumFrameIntervals),
    ];

    /// <summary>v4l2_fmtdesc: index +0, type +4, flags +8, description[32] +12, pixelformat +44, mbus_code +48.</summary>
    private Errno EnumFmt(ref IoctlContext c)
    {
        var index = Le.U32(c.Input, 0);
        var type = Le.U32(c.Input, 4);
        if (type != V4l2.BufTypeVideoCapture || index >= (uint)state.Menu.Formats.Count)
        {
            return Errno.EINVAL;
        }

        var pixelFormat = state.Menu.Formats[(int)index];
        Le.Put(c.Output, 0, index);
        Le.Put(c.Output, 4, type);
        var description = Encoding.ASCII.GetBytes(PixelFormats.Describe(pixelFormat));
        description.AsSpan(0, Math.Min(description.Length, 31)).CopyTo(c.Output[12..]);
        Le.Put(c.Output, 44, pixelFormat);
        return Errno.None;
    }

    private Errno GetFmt(ref IoctlContext c)
    {
        if (Le.U32(c.Input, 0) != V4l2.BufTypeVideoCapture)
        {
            return Errno.EINVAL;
        }

        WriteFormat(c.Output, state.Format);
        return Errno.None;
    }

    private Errno TryFmt(ref IoctlContext c)
    {
        if (Le.U32(c.Input, 0) != V4l2.BufTypeVideoCapture)
        {
            return Errno.EINVAL;
        }

        WriteFormat(c.Output, Adjust(c.Input));
        return Errno.None;
    }

    private Errno SetFmt(ref IoctlContext c)
    {
        if (Le.U32(c.Input, 0) != V4l2.BufTypeVideoCapture)
        {
            return Errno.EINVAL;
        }

        var format = Adjust(c.Input);
        if (format != state.Format)
        {
            // As vb2 drivers do: the format is fixed while any session has buffers allocated.
            if (state.Queue.Allocated > 0)
            {
                return Errno.EBUSY;
            }

            state.Format = format;
        }

        WriteFormat(c.Output, format);
        return Errno.None;
    }

    /// <summary>v4l2_frmsizeenum: index +0, pixel_format +4, type +8, discrete {width, height} +12.</summary>
    private Errno EnumFrameSizes(ref IoctlContext c)
    {
        var index = Le.U32(c.Input, 0);
        var pixelFormat = Le.U32(c.Input, 4);
        if (!state.Menu.TryGetSize(pixelFormat, index, out var width, out var height))
        {
            return Errno.EINVAL;
        }

        Le.Put(c.Output, 0, index);
        Le.Put(c.Output, 4, pixelFormat);
        Le.Put(c.Output, 8, V4l2.FrmSizeTypeDiscrete);
        Le.Put(c.Output, 12, width);
        Le.Put(c.Output, 16, height);
        return Errno.None;
    }

    /// <summary>v4l2_frmivalenum: index, pixel_format, width, height, type at +0..+16; discrete fract at +20.</summary>
    private Errno EnumFrameIntervals(ref IoctlContext c)
    {
        var index = Le.U32(c.Input, 0);
        var pixelFormat = Le.U32(c.Input, 4);
        var width = Le.U32(c.Input, 8);
        var height = Le.U32(c.Input, 12);
        if (!state.Menu.TryGetInterval(pixelFormat, width, height, index, out var rate))
        {
            return Errno.EINVAL;
        }

        Le.Put(c.Output, 0, index);
        Le.Put(c.Output, 4, pixelFormat);
        Le.Put(c.Output, 8, width);
        Le.Put(c.Output, 12, height);
        Le.Put(c.Output, 16, V4l2.FrmIvalTypeDiscrete);
        Le.Put(c.Output, 20, rate.Numerator);
        Le.Put(c.Output, 24, rate.Denominator);
        return Errno.None;
    }

    /// <summary>v4l2_pix_format at +8: width, height, pixelformat; everything else is the device's choice.</summary>
    private FrameFormat Adjust(ReadOnlySpan<byte> input) =>
        state.Menu.Adjust(Le.U32(input, 16), Le.U32(input, 8), Le.U32(input, 12));

    /// <summary>Writes a complete v4l2_format for <paramref name="f"/>: type +0, v4l2_pix_format +8.</summary>
    internal static void WriteFormat(Span<byte> output, FrameFormat f)
    {
        Le.Put(output, 0, V4l2.BufTypeVideoCapture);
        Le.Put(output, 8, f.Width);
        Le.Put(output, 12, f.Height);
        Le.Put(output, 16, f.PixelFormat);
        Le.Put(output, 20, V4l2.FieldNone);
        Le.Put(output, 24, f.BytesPerLine);
        Le.Put(output, 28, f.SizeImage);
        Le.Put(output, 32, V4l2.ColorspaceSrgb);
        Le.Put(output, 36, V4l2.PixFmtPrivMagic);
    }
}
