namespace Spectrum.Camera.Media.Frames;

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
}
