using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>What a guest asked for: the format the service converts into, and the rate it paces at.</summary>
public readonly record struct StreamRequest(FrameFormat Format, FrameRate Rate)
{
    public override string ToString() => $"{Format} {Rate} s";
}

/// <summary>Where a feed is.</summary>
public enum FeedState
{
    /// <summary>Not streaming (no consumer).</summary>
    Stopped,

    /// <summary>Opening the camera; no frame yet.</summary>
    Opening,

    /// <summary>Frames arrive.</summary>
    Streaming,

    /// <summary>The camera is gone or failing; the feed retries about once a second until stopped.</summary>
    Unavailable,
}

/// <summary>
/// One camera frame, valid only during the <see cref="ICameraFeed.FrameArrived"/> callback. The service renders it
/// once per distinct guest format straight into that format's ring slot.
/// </summary>
public interface ICameraFrame
{
    /// <summary>The camera's frame counter.</summary>
    ulong Sequence { get; }

    /// <summary>CLOCK_MONOTONIC nanoseconds of capture.</summary>
    long TimestampNanoseconds { get; }

    /// <summary>
    /// Converts (and scales/crops) the frame into <paramref name="destination"/>, exactly
    /// <paramref name="format"/>.SizeImage bytes. Anything other than <see cref="ConversionResult.Converted"/> means
    /// the frame is dropped for that format (counted by the feed), e.g. a corrupt MJPEG frame.
    /// </summary>
    ConversionResult RenderInto(FrameFormat format, Span<byte> destination);
}

/// <summary>
/// A source of camera frames owned by the camera service and driven by its loop thread: a host V4L2 camera, or the
/// synthetic test-pattern camera. All members are called on the loop thread; callbacks run on it too.
/// </summary>
public interface ICameraFeed : IDisposable
{
    /// <summary>What feeds this ("/dev/video0", "test-pattern"), for status and logs.</summary>
    string Name { get; }

    /// <summary>The current mode and state in words, for logs and operator status.</summary>
    string Description { get; }

    FeedState State { get; }

    /// <summary>Called on the loop for every frame while <see cref="State"/> is Streaming.</summary>
    event Action<ICameraFrame>? FrameArrived;

    /// <summary>Called on the loop on every state change, with a detail for the operator.</summary>
    event Action<FeedState, string>? StateChanged;

    /// <summary>
    /// Starts (or re-plans) streaming so that every request in <paramref name="requests"/> (non-empty) can be served:
    /// one host mode good for all of them (the largest size asked, then the highest rate). Re-opens the camera only
    /// when the mode must change. Never throws for camera trouble: it goes Unavailable and retries.
    /// </summary>
    void StartStreaming(IReadOnlyList<StreamRequest> requests);

    /// <summary>Stops streaming and closes the camera (the camera is open only while someone streams).</summary>
    void StopStreaming();
}
