using Spectrum.Camera.Imaging;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Bench.WholeSystem;

/// <summary>
/// An MJPEG camera for the whole-system figures, on a machine without one: real JPEG frames (made by ffmpeg's
/// encoder when the suite runs) replayed in a loop, one per tick of the service's own test-pattern camera, which
/// supplies the pacing (a timerfd on the service's loop at the requested rate), the sequence numbers, the time
/// stamps and the feed states. Everything after the bytes is the service's own path for a camera's MJPEG frames:
/// the frame object a camera VM's frames use (it holds the bytes and nothing else), the feeds' converter cache, one
/// <see cref="FrameConverter"/> per guest format (libjpeg-turbo decode, crop, scale, convert), the camera hub's
/// rings and the sidecar protocol.
/// </summary>
/// <remarks>
/// The JPEGs are always of one mode (a 1080p camera serving smaller guests too, as the service's mode selection
/// would have it). Frames that do not convert are counted as the test-pattern clock's drops. Loop thread only, like
/// the <see cref="EventLoop"/> it is given.
/// </remarks>
internal sealed class MjpegReplayCameraFeed : ICameraFeed
{
    private readonly byte[][] _jpegs;
    private readonly HostFrameFormat _mode;
    private readonly TestPatternCameraFeed _clock;
    private readonly FrameConverterCache _converters = new();
    private readonly ProducerCameraFrame _frame;

    public MjpegReplayCameraFeed(EventLoop loop, IReadOnlyList<byte[]> jpegs, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(jpegs);
        _jpegs = jpegs.Count > 0 ? [.. jpegs] : throw new ArgumentException("no JPEG frames to replay", nameof(jpegs));
        _mode = HostFrameFormat.Mjpeg(width, height);
        _clock = new TestPatternCameraFeed(loop);
        _converters.Reset(_mode);
        _frame = new ProducerCameraFrame(_clock, _converters);
        _clock.FrameArrived += OnTick;
        _clock.StateChanged += (state, detail) => StateChanged?.Invoke(state, detail);
    }

    public event Action<ICameraFrame>? FrameArrived;

    public event Action<FeedState, string>? StateChanged;

    public string Name => "mjpeg-replay";

    public string Description => $"{Name}: {_jpegs.Length} JPEG frames of {_mode}, paced by {_clock.Description}";

    public FeedState State => _clock.State;

    public void StartStreaming(IReadOnlyList<StreamRequest> requests) => _clock.StartStreaming(requests);

    public void StopStreaming() => _clock.StopStreaming();

    public void Dispose()
    {
        _clock.Dispose();
        _converters.Dispose();
    }

    private void OnTick(ICameraFrame tick)
    {
        _frame.Attach(_jpegs[tick.Sequence % (ulong)_jpegs.Length], tick.Sequence, tick.TimestampNanoseconds);
        try
        {
            FrameArrived?.Invoke(_frame);
        }
        finally
        {
            _frame.Detach();
        }
    }
}
