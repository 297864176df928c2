using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// A test-pattern camera that the test can unplug and plug back in, as a USB camera is: unplugged it is
/// <see cref="FeedState.Unavailable"/> and delivers nothing while the service still wants it; plugged back, it
/// streams again for whoever wants it then. <see cref="Unplug"/> and <see cref="Replug"/> run on the service's loop.
/// </summary>
internal sealed class UnpluggableCameraFeed : ICameraFeed
{
    private readonly EventLoop _loop;
    private readonly TestPatternCameraFeed _inner;
    private IReadOnlyList<StreamRequest> _wanted = [];
    private bool _unplugged;

    public UnpluggableCameraFeed(EventLoop loop, byte pattern)
    {
        _loop = loop;
        _inner = new TestPatternCameraFeed(loop, pattern);
        _inner.FrameArrived += frame =>
        {
            if (!_unplugged)
            {
                FrameArrived?.Invoke(frame);
            }
        };
        _inner.StateChanged += (state, detail) =>
        {
            if (!_unplugged)
            {
                StateChanged?.Invoke(state, detail);
            }
        };
    }

    public event Action<ICameraFrame>? FrameArrived;

    public event Action<FeedState, string>? StateChanged;

    public string Name => _inner.Name;

    public string Description => _unplugged ? $"{Name}: unplugged" : _inner.Description;

    public FeedState State => _unplugged && _wanted.Count > 0 ? FeedState.Unavailable : _inner.State;

    public void StartStreaming(IReadOnlyList<StreamRequest> requests)
    {
        _wanted = [.. requests];
        if (!_unplugged)
        {
            _inner.StartStreaming(requests);
        }
    }

    public void StopStreaming()
    {
        _wanted = [];
        _inner.StopStreaming();
    }

    /// <summary>Pulls the cable: frames stop and the feed reports Unavailable (from the loop thread).</summary>
    public void Unplug() => _loop.Post(() =>
    {
        _unplugged = true;
        _inner.StopStreaming();
        StateChanged?.Invoke(FeedState.Unavailable, $"{Name} unplugged");
    });

    /// <summary>Plugs it back: streams again for the requests the service has now (from the loop thread).</summary>
    public void Replug() => _loop.Post(() =>
    {
        _unplugged = false;
        if (_wanted.Count > 0)
        {
            _inner.StartStreaming(_wanted);
        }
    });

    public void Dispose() => _inner.Dispose();
}
