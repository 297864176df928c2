using Spectrum.Camera.Frames;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// ENUM_FMT, G/S/TRY_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS over the stable menu, for the device's one buffer type
/// (VIDEO_CAPTURE or VIDEO_OUTPUT; any other type is EINVAL). TRY/S_FMT adjust and never fail for that type; every
/// size probe (0x0, 2^32-1 squared) maps to a menu entry.
/// </summary>
internal sealed class FormatIoctls(DeviceState state)
{
    public Errno Enumerate(in V4l2FmtDesc request, out V4l2FmtDesc answer)
    {
        answer = default;
        if (request.Type != state.BufferType || request.Index >= (uint)state.Menu.Formats.Count)
        {
            return Errno.EINVAL;
        }

        var pixelFormat = state.Menu.Formats[(int)request.Index];
        answer = V4l2FmtDesc.Create(pixelFormat, PixelFormats.Describe(pixelFormat), index: request.Index, type: request.Type);
        return Errno.None;
    }

    public Errno Get(in V4l2Format request, out V4l2Format answer)
    {
        answer = default;
        if (request.Type != state.BufferType)
        {
            return Errno.EINVAL;
        }

        answer = Describe(state.BufferType, state.Format);
        return Errno.None;
    }

    public Errno Try(in V4l2Format request, out V4l2Format answer)
    {
        answer = default;
        if (request.Type != state.BufferType)
        {
            return Errno.EINVAL;
        }

        answer = Describe(state.BufferType, Adjust(request));
        return Errno.None;
    }

    public Errno Set(in V4l2Format request, out V4l2Format answer)
    {
        answer = default;
        if (request.Type != state.BufferType)
        {
            return Errno.EINVAL;
        }

        var format = Adjust(request);
        if (format != state.Format)
        {
            // As vb2 drivers do: the format is fixed while any session has buffers allocated.
            if (state.Queue.Allocated > 0)
            {
                return Errno.EBUSY;
            }

            state.Format = format;
        }

        answer = Describe(state.BufferType, format);
        return Errno.None;
    }

    public Errno EnumerateSizes(in V4l2FrmSizeEnum request, out V4l2FrmSizeEnum answer)
    {
        answer = default;
        if (!state.Menu.TryGetSize(request.PixelFormat, request.Index, out var width, out var height))
        {
            return Errno.EINVAL;
        }

        answer = new V4l2FrmSizeEnum
        {
            Index = request.Index,
            PixelFormat = request.PixelFormat,
            Type = V4l2.FrmSizeTypeDiscrete,
            DiscreteWidth = width,
            DiscreteHeight = height,
        };
        return Errno.None;
    }

    public Errno EnumerateIntervals(in V4l2FrmIvalEnum request, out V4l2FrmIvalEnum answer)
    {
        answer = default;
        if (!state.Menu.TryGetInterval(request.PixelFormat, request.Width, request.Height, request.Index, out var rate))
        {
            return Errno.EINVAL;
        }

        answer = new V4l2FrmIvalEnum
        {
            Index = request.Index,
            PixelFormat = request.PixelFormat,
            Width = request.Width,
            Height = request.Height,
            Type = V4l2.FrmIvalTypeDiscrete,
            Discrete = new V4l2Fract(rate.Numerator, rate.Denominator),
        };
        return Errno.None;
    }

    /// <summary>
    /// The complete v4l2_format of buffer type <paramref name="type"/> the driver sees for <paramref name="f"/>; unset
    /// fields are zero (defaults).
    /// </summary>
    public static V4l2Format Describe(uint type, FrameFormat f) => new()
    {
        Type = type,
        Pix = new V4l2PixFormat
        {
            Width = f.Width,
            Height = f.Height,
            PixelFormat = f.PixelFormat,
            Field = V4l2.FieldNone,
            BytesPerLine = f.BytesPerLine,
            SizeImage = f.SizeImage,
            Colorspace = V4l2.ColorspaceSrgb,
            Priv = V4l2.PixFmtPrivMagic,
        },
    };

    /// <summary>The menu entry for the request's width, height and pixel format; every other field is the device's choice.</summary>
    private FrameFormat Adjust(in V4l2Format request) =>
        state.Menu.Adjust(request.Pix.PixelFormat, request.Pix.Width, request.Pix.Height);
}
