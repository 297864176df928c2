using Spectrum.Camera.Frames;
using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// A camera frame whose bytes are in the camera's own format (a host camera's mapped buffer, the service's copy of a
/// camera VM's frame), rendered into each guest format by the converter the feed caches for it: the one path every
/// real camera frame takes, scaling and cropping included. An MJPEG frame is decoded once, by the first format
/// rendered; the others convert the same decoded planes.
/// </summary>
internal abstract class ConvertedCameraFrame(CameraFeedBase feed, FrameConverterCache converters) : ICameraFrame
{
    // The cache's identity for the frame attached now (see FrameConverterCache.NewFrame): what lets every format
    // after the first reuse the first one's decode.
    private ulong _identity;

    public ulong Sequence { get; private set; }

    public long TimestampNanoseconds { get; private set; }

    /// <summary>The frame's bytes in the camera's format.</summary>
    /// <exception cref="InvalidOperationException">The frame is not attached (outside its FrameArrived callback).</exception>
    protected abstract ReadOnlySpan<byte> Data { get; }

    /// <exception cref="InvalidOperationException">
    /// Called outside the FrameArrived callback, or after the feed was stopped or re-opened within it.
    /// </exception>
    /// <exception cref="ArgumentException"><paramref name="format"/> is not a guest format, or the destination is too small.</exception>
    public ConversionResult RenderInto(FrameFormat format, Span<byte> destination)
    {
        var data = Data;
        var converter = converters.For(format);
        var result = converter is null ? ConversionResult.UnsupportedJpeg : converter.Convert(data, _identity, destination);
        if (result != ConversionResult.Converted)
        {
            feed.CountDrop();
        }

        return result;
    }

    /// <summary>Makes the bytes <see cref="Data"/> gives from now on a new frame, numbered <paramref name="sequence"/>.</summary>
    protected void BeginFrame(ulong sequence, long timestampNanoseconds)
    {
        Sequence = sequence;
        TimestampNanoseconds = timestampNanoseconds;
        _identity = converters.NewFrame();
    }
}
