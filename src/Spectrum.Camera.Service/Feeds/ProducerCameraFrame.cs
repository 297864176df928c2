namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// The <see cref="ICameraFrame"/> of a <see cref="ProducerCameraFeed"/>: the service's own copy of one camera VM frame
/// (never the shared ring, which the camera VM can rewrite at any moment), for the length of one
/// <see cref="ICameraFeed.FrameArrived"/> callback.
/// </summary>
internal sealed class ProducerCameraFrame(CameraFeedBase feed, FrameConverterCache converters) : ConvertedCameraFrame(feed, converters)
{
    private ReadOnlyMemory<byte> _data;
    private bool _attached;

    protected override ReadOnlySpan<byte> Data =>
        _attached ? _data.Span : throw new InvalidOperationException("a camera frame is valid only during its FrameArrived callback");

    /// <summary>Makes this the frame in <paramref name="data"/> (the service's copy) until <see cref="Detach"/>.</summary>
    public void Attach(ReadOnlyMemory<byte> data, ulong sequence, long timestampNanoseconds)
    {
        _data = data;
        BeginFrame(sequence, timestampNanoseconds);
        _attached = true;
    }

    public void Detach()
    {
        _attached = false;
        _data = default;
    }
}
