using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// The <see cref="ICameraFrame"/> of a <see cref="TestPatternCameraFeed"/>: renders <see cref="TestPatternSource"/>'s
/// frame number <c>pattern × 2^24 + (Sequence mod 2^24)</c>, so a reader can tell which camera and which of its frames
/// it got with <see cref="TestPatternVerifier.TryDecode"/> (pattern 0 numbers its frames by their sequence).
/// </summary>
/// <remarks>
/// Each guest format has its own <see cref="TestPatternSource"/> (a source re-prepares its tables when the format
/// changes) and a frame buffer it renders into before the copy into the destination (a sink cannot hold a span): both
/// made on first use, so a steady stream allocates nothing. <see cref="Clear"/> frees them when the feed stops.
/// </remarks>
internal sealed class TestPatternCameraFrame(byte pattern) : ICameraFrame
{
    /// <summary>The frame number's low bits that count frames; the byte above them is the pattern.</summary>
    public const int SequenceBits = 24;

    private readonly Dictionary<FrameFormat, (TestPatternSource Source, MemoryFrameSink Sink)> _renderers = [];
    private bool _attached;

    public ulong Sequence { get; private set; }

    public long TimestampNanoseconds { get; private set; }

    /// <summary>Makes this frame number <paramref name="sequence"/> until <see cref="Detach"/>.</summary>
    public void Attach(ulong sequence, long timestampNanoseconds)
    {
        Sequence = sequence;
        TimestampNanoseconds = timestampNanoseconds;
        _attached = true;
    }

    public void Detach() => _attached = false;

    /// <summary>Frees the per-format renderers.</summary>
    public void Clear() => _renderers.Clear();

    /// <exception cref="InvalidOperationException">Called outside the FrameArrived callback.</exception>
    /// <exception cref="ArgumentException"><paramref name="format"/> is not a guest format, or the destination is too small.</exception>
    public ConversionResult RenderInto(FrameFormat format, Span<byte> destination)
    {
        if (!_attached)
        {
            throw new InvalidOperationException("a camera frame is valid only during its FrameArrived callback");
        }

        if (!format.IsValid)
        {
            throw new ArgumentException($"cannot render {format}: not a valid guest format", nameof(format));
        }

        var size = (int)format.SizeImage;
        if (destination.Length < size)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; a {format} frame needs {size}.", nameof(destination));
        }

        if (!_renderers.TryGetValue(format, out var renderer))
        {
            renderer = (new TestPatternSource(), new MemoryFrameSink(size));
            _renderers[format] = renderer;
        }

        renderer.Sink.Reset();
        renderer.Source.Render(format, FrameNumber(pattern, Sequence), renderer.Sink);
        renderer.Sink.WrittenMemory.Span.CopyTo(destination);
        return ConversionResult.Converted;
    }

    /// <summary>The number pattern <paramref name="pattern"/> renders for camera frame <paramref name="sequence"/>.</summary>
    public static uint FrameNumber(byte pattern, ulong sequence) =>
        ((uint)pattern << SequenceBits) | (uint)(sequence & ((1u << SequenceBits) - 1));
}
