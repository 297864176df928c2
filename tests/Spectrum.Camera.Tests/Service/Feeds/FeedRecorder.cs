using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Tests.Service.Feeds;

/// <summary>
/// Subscribes to a feed's events (call <see cref="Attach"/> on the loop) and records, thread-safely, the state changes
/// and frames in the order they came; optionally renders every frame into given formats inside the callback.
/// </summary>
internal sealed class FeedRecorder
{
    private readonly Lock _gate = new();
    private readonly List<string> _events = [];
    private readonly List<(FeedState State, string Detail)> _states = [];
    private readonly List<RecordedFrame> _frames = [];
    private readonly FrameFormat[] _renderFormats;
    private readonly int _renderFrames;

    /// <param name="renderFormats">Formats each of the first <paramref name="renderFrames"/> frames is rendered into.</param>
    public FeedRecorder(FrameFormat[]? renderFormats = null, int renderFrames = 0)
    {
        _renderFormats = renderFormats ?? [];
        _renderFrames = renderFrames;
    }

    /// <summary>"state:Opening", "frame:0", ... in order.</summary>
    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    public IReadOnlyList<(FeedState State, string Detail)> States
    {
        get
        {
            lock (_gate)
            {
                return [.. _states];
            }
        }
    }

    public IReadOnlyList<RecordedFrame> Frames
    {
        get
        {
            lock (_gate)
            {
                return [.. _frames];
            }
        }
    }

    public int FrameCount
    {
        get
        {
            lock (_gate)
            {
                return _frames.Count;
            }
        }
    }

    public void Attach(ICameraFeed feed)
    {
        feed.StateChanged += OnState;
        feed.FrameArrived += OnFrame;
    }

    private void OnState(FeedState state, string detail)
    {
        lock (_gate)
        {
            _states.Add((state, detail));
            _events.Add($"state:{state}");
        }
    }

    private void OnFrame(ICameraFrame frame)
    {
        var rendered = new List<RenderedFrame>();
        if (FrameCount < _renderFrames)
        {
            foreach (var format in _renderFormats)
            {
                var bytes = new byte[format.SizeImage];
                rendered.Add(new RenderedFrame(format, frame.RenderInto(format, bytes), bytes));
            }
        }

        lock (_gate)
        {
            _frames.Add(new RecordedFrame(frame.Sequence, frame.TimestampNanoseconds, rendered));
            _events.Add($"frame:{frame.Sequence}");
        }
    }
}

internal sealed record RecordedFrame(ulong Sequence, long TimestampNanoseconds, IReadOnlyList<RenderedFrame> Rendered);

internal sealed record RenderedFrame(FrameFormat Format, ConversionResult Result, byte[] Bytes);
