using Spectrum.Camera.Native.Diagnostics;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// What every feed shares: the state with its operator detail and the two events, the frame and drop counters,
/// request validation and the dispose guard. A state change is logged (Info) and raised, in that order.
/// </summary>
public abstract class CameraFeedBase : ICameraFeed
{
    /// <summary>The log component of every feed.</summary>
    protected const string Component = "camera-feed";

    private long _framesDelivered;
    private long _droppedFrames;

    protected CameraFeedBase(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    public event Action<ICameraFrame>? FrameArrived;

    public event Action<FeedState, string>? StateChanged;

    public string Name { get; }

    public FeedState State { get; private set; } = FeedState.Stopped;

    /// <summary>The detail of the last state change.</summary>
    public string StateDetail { get; private set; } = "stopped";

    /// <summary>Frames raised through <see cref="FrameArrived"/> (since construction).</summary>
    public long FramesDelivered => Volatile.Read(ref _framesDelivered);

    /// <summary>
    /// Frames dropped: frames the feed never raised (flagged corrupt by the camera; from a camera VM: torn, stale,
    /// too fast, of another ring or unwanted), plus every <see cref="ICameraFrame.RenderInto"/> that did not convert
    /// (once per format).
    /// </summary>
    public long DroppedFrames => Volatile.Read(ref _droppedFrames);

    public string Description =>
        $"{Name}: {State}{ModeDescription}; {FramesDelivered} frames, {DroppedFrames} dropped ({StateDetail})";

    /// <summary>The mode part of <see cref="Description"/> (" YUYV 640x480@30 for ..."), empty when there is none.</summary>
    protected abstract string ModeDescription { get; }

    protected bool IsDisposed { get; private set; }

    public abstract void StartStreaming(IReadOnlyList<StreamRequest> requests);

    public abstract void StopStreaming();

    public void Dispose()
    {
        if (IsDisposed)
        {
            return;
        }

        IsDisposed = true;
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the feed's fds and buffers; no events are raised.</summary>
    protected abstract void Dispose(bool disposing);

    /// <summary>Checks a StartStreaming call and returns the plan for it.</summary>
    /// <exception cref="ObjectDisposedException">The feed is disposed.</exception>
    /// <exception cref="ArgumentException">No request, or a request for a format that cannot be rendered.</exception>
    protected StreamRequest PlanFor(IReadOnlyList<StreamRequest> requests)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(requests);
        foreach (var request in requests)
        {
            if (!request.Format.IsValid)
            {
                throw new ArgumentException($"cannot stream {request.Format}: not a valid guest format", nameof(requests));
            }
        }

        return FeedModePlanner.Plan(requests);
    }

    /// <summary>
    /// Moves to <paramref name="state"/>: logs the detail when it is new (so a retry that fails the same way every
    /// second logs once) and raises <see cref="StateChanged"/> when the state changes.
    /// </summary>
    protected void SetState(FeedState state, string detail)
    {
        if (detail != StateDetail)
        {
            StateDetail = detail;
            Log.Info(Component, detail);
        }

        if (state != State)
        {
            State = state;
            StateChanged?.Invoke(state, detail);
        }
    }

    /// <summary>Raises <see cref="FrameArrived"/> for <paramref name="frame"/> and counts it.</summary>
    protected void Deliver(ICameraFrame frame)
    {
        Interlocked.Increment(ref _framesDelivered);
        FrameArrived?.Invoke(frame);
    }

    /// <summary>Counts one dropped frame.</summary>
    protected internal void CountDrop() => Interlocked.Increment(ref _droppedFrames);
}
