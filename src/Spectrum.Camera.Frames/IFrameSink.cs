namespace Spectrum.Camera.Frames;

/// <summary>
/// The destination of one frame: a sequential writer over the (possibly scattered) pages of a guest buffer.
/// Sources append bytes in plane order; the sink never accepts more than the frame's size.
/// </summary>
public interface IFrameSink
{
    /// <summary>Appends <paramref name="bytes"/> at the current position.</summary>
    void Write(ReadOnlySpan<byte> bytes);
}
