namespace Spectrum.Camera.Media.Device;

/// <summary>
/// What STREAMON and STREAMOFF start and stop on the device loop: the capture device's <see cref="FrameStreamer"/>
/// (frames into queued buffers) or the output device's frame receiver (frames out of them).
/// </summary>
internal interface IStreamer
{
    /// <summary>STREAMON: frames flow from the next period on, numbered from 0.</summary>
    void Start();

    /// <summary>STREAMOFF, the owner's close or a reset: no more frames, and none of the stream's still undelivered.</summary>
    void Stop();
}
