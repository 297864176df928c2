using Spectrum.Camera.Host;
using Spectrum.Camera.Imaging;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// A host V4L2 camera as a feed: one host mode for every request (<see cref="FeedModePlanner"/> and
/// <see cref="ModeSelector"/>), MMAP streaming with <see cref="HostCamera"/> watched on the service's loop, and
/// every frame converted in place, once per guest format, by a cached <see cref="FrameConverter"/>.
/// </summary>
/// <remarks>
/// <para>Trouble never throws: a camera that cannot be opened (absent, busy, no permission, no convertible mode) or
/// that goes away while streaming (ENODEV/EIO/ENXIO, POLLERR/POLLHUP) puts the feed in
/// <see cref="FeedState.Unavailable"/>, and a timerfd on the loop tries a fresh open (enumerate, select, open) every
/// second until it works or <see cref="StopStreaming"/>. A fresh open rather than <see cref="HostCamera.TryReopen"/>:
/// the camera that comes back on the path (a by-path link, another model) may offer other modes.</para>
/// <para>Frames the driver flags as corrupt (V4L2_BUF_FLAG_ERROR) are never raised; they count as dropped.</para>
/// <para>Loop thread only, like the <see cref="EventLoop"/> it is given.</para>
/// </remarks>
public sealed class V4l2CameraFeed : CameraFeedBase
{
    /// <summary>How often an unavailable camera is tried again.</summary>
    public static readonly TimeSpan RetryPeriod = TimeSpan.FromSeconds(1);

    private readonly EventLoop _loop;
    private readonly FrameConverterCache _converters = new();
    private readonly V4l2CameraFrame _frame;
    private readonly Action _onCameraReadable;
    private StreamRequest _plan;
    private IReadOnlyList<CameraMode> _modes = [];
    private ModeSelection _selection;
    private HostCamera? _camera;
    private int _watchedFd = -1;
    private LoopTimer? _retryTimer;

    /// <summary>A feed from <paramref name="devicePath"/> (a node or a /dev/v4l/by-id or by-path link), driven by <paramref name="loop"/>.</summary>
    public V4l2CameraFeed(EventLoop loop, string devicePath)
        : base(devicePath)
    {
        ArgumentNullException.ThrowIfNull(loop);
        _loop = loop;
        _frame = new V4l2CameraFrame(this, _converters);
        _onCameraReadable = OnCameraReadable;
    }

    /// <summary>The host mode streaming now, or null while the camera is closed.</summary>
    public HostMode? CurrentMode => _camera?.Mode;

    /// <summary>What the driver agreed to at the last open, or null while the camera is closed.</summary>
    public NegotiatedFormat? Negotiated => _camera?.Format;

    /// <summary>Open attempts that failed (at start, after an unplug, or on the retry timer).</summary>
    public int FailedOpens { get; private set; }

    /// <summary>How many times the camera went away while open.</summary>
    public int Unplugs { get; private set; }

    /// <summary>Whether the retry timer is armed (the feed is Unavailable and still wanted).</summary>
    public bool IsRetrying => _retryTimer is not null;

    protected override string ModeDescription => _camera is { } camera
        ? $" {camera.Format} for {_plan}"
        : State == FeedState.Stopped ? "" : $" (wanted for {_plan})";

    public override void StartStreaming(IReadOnlyList<StreamRequest> requests)
    {
        var plan = PlanFor(requests);
        var previous = _plan;
        _plan = plan;
        if (State == FeedState.Stopped)
        {
            Open();
        }
        else if (_camera is not null)
        {
            Replan(previous);
        }

        // Unavailable: the retry timer opens with the new plan.
    }

    public override void StopStreaming()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (State == FeedState.Stopped)
        {
            return;
        }

        CloseCamera();
        StopRetrying();
        SetState(FeedState.Stopped, $"camera {Name} closed: no VM streams");
    }

    protected override void Dispose(bool disposing)
    {
        CloseCamera();
        StopRetrying();
        _converters.Dispose();
    }

    /// <summary>A new plan while the camera is open: re-open only if the mode must change.</summary>
    private void Replan(StreamRequest previous)
    {
        var current = _camera!.Mode;
        var selection = ModeSelector.Select(_modes, _plan.Format, _plan.Rate);
        if (selection is not { } selected || !FeedModePlanner.MustReopen(current, selected.Mode, _plan))
        {
            if (_plan != previous)
            {
                Log.Info(Component, $"camera {Name}: keeps {current} for {_plan}");
            }

            return;
        }

        Log.Info(Component, $"camera {Name}: re-opening in {selected.Mode} ({selected.Match}) for {_plan}; VMs see black meanwhile");
        CloseCamera();
        Open();
    }

    /// <summary>
    /// Enumerates, selects and opens: Opening on success (Streaming comes with the first frame), otherwise
    /// Unavailable with the retry timer armed.
    /// </summary>
    private void Open()
    {
        HostCamera? camera = null;
        try
        {
            var device = CameraEnumerator.Describe(Name);
            var modes = device.Modes;
            var selection = ModeSelector.Select(modes, _plan.Format, _plan.Rate)
                ?? throw new HostCameraException(
                    $"{Name} ({device.Card}) has no mode in a format the converter takes (YUYV, UYVY, NV12, YU12, MJPEG)", 0);
            camera = HostCamera.Open(Name, selection.Mode);
            var source = HostSourceFormat.From(camera.Format!, out var problem)
                ?? throw new HostCameraException($"{Name}: {problem}", 0);
            _loop.Watch(camera.Fd, _onCameraReadable);
            _watchedFd = camera.Fd;
            (_camera, camera) = (camera, null);
            _modes = modes;
            _selection = selection;
            _converters.Reset(source);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // HostCameraException is an IOException; the others come from reading /dev/v4l links.
            OpenFailed(e);
            return;
        }
        finally
        {
            camera?.Dispose();
        }

        StopRetrying();
        SetState(FeedState.Opening,
            $"camera {Name} open: {_camera.Format} ({_selection.Match} {_selection.Mode} for {_plan}); waiting for the first frame");
    }

    private void OpenFailed(Exception e)
    {
        FailedOpens++;
        var errno = (e as HostCameraException)?.Errno;
        var advice = e is HostCameraException { IsUnplug: true } ? "plug the camera in or check the path"
            : errno == Errnos.EBUSY ? "another program holds the camera: close it"
            : errno is Errnos.EACCES or Errnos.EPERM ? "give the service access to the device node"
            : "check the camera and this log";
        SetState(FeedState.Unavailable, $"camera {Name} unavailable: {e.Message}; VMs get black frames; retrying every second ({advice})");
        StartRetrying();
    }

    private void OnCameraReadable()
    {
        var camera = _camera;
        if (camera is null)
        {
            return;
        }

        var frames = 0;
        try
        {
            while (camera.TryDequeue(out var frame))
            {
                frames++;
                Dispatch(camera, frame);
                if (camera != _camera)
                {
                    return; // A handler stopped or re-planned the feed: this camera is closed.
                }
            }

            // Woken without a frame: POLLERR/POLLHUP with a DQBUF that still answers EAGAIN. Ask poll, so a dead
            // device cannot keep the loop spinning.
            if (frames == 0 && camera.State == HostCameraState.Streaming)
            {
                camera.Wait(0);
            }
        }
        catch (HostCameraException e)
        {
            // DQBUF/QBUF failed in a way that is not an unplug: treat as a camera failure and start again.
            CloseCamera();
            OpenFailed(e);
            return;
        }

        if (camera.State == HostCameraState.Unplugged && camera == _camera)
        {
            OnUnplugged(camera.UnplugReason ?? "gone");
        }
    }

    private void Dispatch(HostCamera camera, in HostFrame frame)
    {
        try
        {
            if (frame.IsCorrupt)
            {
                CountDrop();
                return;
            }

            if (State == FeedState.Opening)
            {
                SetState(FeedState.Streaming, $"camera {Name} streaming {camera.Format}");
                if (camera != _camera)
                {
                    return; // A StateChanged handler stopped the feed.
                }
            }

            _frame.Attach(camera, frame);
            try
            {
                Deliver(_frame);
            }
            finally
            {
                _frame.Detach();
            }
        }
        finally
        {
            camera.Release(frame);
        }
    }

    private void OnUnplugged(string reason)
    {
        Unplugs++;
        CloseCamera();
        SetState(FeedState.Unavailable, $"camera {Name} unplugged ({reason}): VMs get black frames; retrying every second");
        StartRetrying();
    }

    private void OnRetryTimer()
    {
        if (_retryTimer is null || _retryTimer.ConsumeExpirations() == 0)
        {
            return;
        }

        if (State != FeedState.Unavailable)
        {
            StopRetrying();
            return;
        }

        Open();
    }

    private void StartRetrying() =>
        _retryTimer ??= LoopTimer.Start(_loop, (long)RetryPeriod.TotalNanoseconds, OnRetryTimer);

    private void StopRetrying()
    {
        _retryTimer?.Dispose();
        _retryTimer = null;
    }

    /// <summary>Unwatches and closes the camera (a frame held by a running callback stays mapped until released).</summary>
    private void CloseCamera()
    {
        if (_watchedFd >= 0)
        {
            _loop.Unwatch(_watchedFd);
            _watchedFd = -1;
        }

        _frame.Detach();
        _camera?.Dispose();
        _camera = null;
        _converters.Clear();
    }
}
