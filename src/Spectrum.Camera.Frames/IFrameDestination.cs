namespace Spectrum.Camera.Frames;

/// <summary>
/// Where an output device's frames go: the other direction of <see cref="IFrameSource"/>. The producer sidecar's
/// output device takes frames a camera VM queued and hands each to its destination (the camera service, through the
/// sidecar's producer client). Everything is called on the device's loop thread; nothing may block or allocate per
/// frame.
/// </summary>
public interface IFrameDestination
{
    /// <summary>Short name for logs.</summary>
    string Name { get; }

    /// <summary>Frames wanted now, and in which mode; null while nobody wants frames.</summary>
    FrameDemand? Demand { get; }

    /// <summary>Raised on the loop thread when <see cref="Demand"/> changes.</summary>
    event Action? DemandChanged;

    /// <summary>The camera VM started streaming (STREAMON on the output queue) in <paramref name="format"/>.</summary>
    void StreamStarted(FrameFormat format, FrameRate rate);

    /// <summary>The camera VM stopped streaming (STREAMOFF, close, reset, or the VMM went away).</summary>
    void StreamStopped();

    /// <summary>
    /// Room for the next frame of the current stream: exactly <see cref="FrameFormat.SizeImage"/> bytes of shared
    /// memory to copy the frame into, or false when the frame has nowhere to go (not wanted, no memory yet, the reader
    /// behind); the caller then drops the frame. A true must be followed by <see cref="CommitFrame"/> or
    /// <see cref="AbortFrame"/> before the next call.
    /// </summary>
    bool TryBeginFrame(FrameFormat format, out Span<byte> frame);

    /// <summary>The frame written since <see cref="TryBeginFrame"/> is complete: publish it as frame <paramref name="sequence"/>.</summary>
    void CommitFrame(ulong sequence);

    /// <summary>The frame begun with <see cref="TryBeginFrame"/> could not be copied whole: forget it.</summary>
    void AbortFrame();
}
