using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// A device's frame engine on the device loop: the capture device's <see cref="FrameStreamer"/> (frames into queued
/// buffers) or the output device's <see cref="FrameReceiver"/> (frames out of them). STREAMON and STREAMOFF start and stop it; it
/// touches no guest memory while the rings are stopped.
/// </summary>
internal interface IStreamer : IDisposable
{
    /// <summary>Called once, before any queue starts: the loop its timer runs on.</summary>
    void Attach(EventLoop loop);

    /// <summary>STREAMON: frames flow from the next period on, numbered from 0.</summary>
    void Start();

    /// <summary>STREAMOFF, the owner's close or a reset: no more frames, and none of the stream's still undelivered.</summary>
    void Stop();

    /// <summary>The rings stopped: no guest memory is touched until <see cref="Resume"/>.</summary>
    void Suspend();

    /// <summary>Both rings run again.</summary>
    void Resume();
}
