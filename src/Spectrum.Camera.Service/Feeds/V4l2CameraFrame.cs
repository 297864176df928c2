using Spectrum.Camera.Host;
using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// The <see cref="ICameraFrame"/> of a <see cref="V4l2CameraFeed"/>: one reusable object pointing at the dequeued
/// host buffer for the length of one <see cref="ICameraFeed.FrameArrived"/> callback. It reads the mapped buffer in
/// place (no copy) through the converter cached for each guest format.
/// </summary>
internal sealed class V4l2CameraFrame(CameraFeedBase feed, FrameConverterCache converters) : ICameraFrame
{
    private HostCamera? _camera;
    private int _bufferIndex;
    private int _bytesUsed;

    public ulong Sequence { get; private set; }

    public long TimestampNanoseconds { get; private set; }

    /// <summary>Points the frame at <paramref name="frame"/> of <paramref name="camera"/>, which holds it until <see cref="Detach"/>.</summary>
    public void Attach(HostCamera camera, in HostFrame frame)
    {
        _camera = camera;
        _bufferIndex = frame.BufferIndex;
        _bytesUsed = frame.BytesUsed;
        Sequence = frame.Sequence;
        TimestampNanoseconds = frame.TimestampNanoseconds;
    }

    /// <summary>Forgets the host buffer (it is about to be released).</summary>
    public void Detach() => _camera = null;

    /// <exception cref="InvalidOperationException">
    /// Called outside the FrameArrived callback, or after the feed was stopped or re-opened within it.
    /// </exception>
    /// <exception cref="ArgumentException"><paramref name="format"/> is not a guest format, or the destination is too small.</exception>
    public ConversionResult RenderInto(FrameFormat format, Span<byte> destination)
    {
        var camera = _camera ?? throw new InvalidOperationException("a camera frame is valid only during its FrameArrived callback, until the feed is stopped or re-opened");
        var converter = converters.For(format);
        var result = converter is null
            ? ConversionResult.UnsupportedJpeg
            : converter.Convert(camera.DequeuedData(_bufferIndex, _bytesUsed), destination);
        if (result != ConversionResult.Converted)
        {
            feed.CountDrop();
        }

        return result;
    }
}
