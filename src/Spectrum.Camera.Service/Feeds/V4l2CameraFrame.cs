using Spectrum.Camera.Host;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// The <see cref="ICameraFrame"/> of a <see cref="V4l2CameraFeed"/>: one reusable object pointing at the dequeued
/// host buffer for the length of one <see cref="ICameraFeed.FrameArrived"/> callback. It reads the mapped buffer in
/// place (no copy) through the converter cached for each guest format.
/// </summary>
internal sealed class V4l2CameraFrame(CameraFeedBase feed, FrameConverterCache converters) : ConvertedCameraFrame(feed, converters)
{
    private HostCamera? _camera;
    private int _bufferIndex;
    private int _bytesUsed;

    protected override ReadOnlySpan<byte> Data =>
        _camera is { } camera
            ? camera.DequeuedData(_bufferIndex, _bytesUsed)
            : throw new InvalidOperationException("a camera frame is valid only during its FrameArrived callback, until the feed is stopped or re-opened");

    /// <summary>Points the frame at <paramref name="frame"/> of <paramref name="camera"/>, which holds it until <see cref="Detach"/>.</summary>
    public void Attach(HostCamera camera, in HostFrame frame)
    {
        _camera = camera;
        _bufferIndex = frame.BufferIndex;
        _bytesUsed = frame.BytesUsed;
        BeginFrame(frame.Sequence, frame.TimestampNanoseconds);
    }

    /// <summary>Forgets the host buffer (it is about to be released).</summary>
    public void Detach() => _camera = null;
}
