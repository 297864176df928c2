namespace Spectrum.Camera.Frames;

/// <summary>
/// Produces frames for the capture device. The device owns pacing (a timer on its loop) and calls
/// <see cref="Render"/> once per frame on that loop thread, so implementations must be fast and must not
/// allocate per frame. The host camera and the permission policy implement this same interface later.
/// </summary>
public interface IFrameSource
{
    /// <summary>Short name for logs ("test-pattern", "black", ...).</summary>
    string Name { get; }

    /// <summary>
    /// Writes exactly <see cref="FrameFormat.SizeImage"/> bytes of frame number <paramref name="frameNumber"/>
    /// (0-based, counting every frame period since streaming started, including dropped ones) into
    /// <paramref name="sink"/>, and says what kind of content it wrote.
    /// </summary>
    FrameContent Render(FrameFormat format, uint frameNumber, IFrameSink sink);

    /// <summary>
    /// The guest started streaming (STREAMON) at <paramref name="format"/> and <paramref name="rate"/>; called on the
    /// loop thread before the first <see cref="Render"/>. Sources that feed from elsewhere (the camera service) ask
    /// for frames here; the others ignore it.
    /// </summary>
    void StreamStarted(FrameFormat format, FrameRate rate)
    {
    }

    /// <summary>The guest stopped streaming (STREAMOFF, close, reset, or the VMM went away); loop thread.</summary>
    void StreamStopped()
    {
    }
}
