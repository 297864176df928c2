using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Bench.Device;

/// <summary>
/// A source whose frame is ready before the tick, written to the guest buffer in one <see cref="IFrameSink.Write"/>:
/// what the host-camera path will do (FrameConverter.Convert(source, sink) converts ahead of the device's pacing and
/// hands the device one finished frame). Its cost in the device is the copy into guest pages, which is exactly what
/// the memcpy baseline copies. The frame is one test-pattern frame, so the bytes are realistic rather than constant.
/// </summary>
public sealed class PreparedFrameSource : IFrameSource
{
    private readonly byte[] _frame;
    private readonly FrameFormat _format;

    public PreparedFrameSource(FrameFormat format)
    {
        _format = format;
        var sink = new MemoryFrameSink((int)format.SizeImage);
        new TestPatternSource().Render(format, 0, sink);
        _frame = sink.Destination.ToArray();
    }

    /// <summary>The frame's bytes (the memcpy baseline copies these).</summary>
    public ReadOnlySpan<byte> Frame => _frame;

    public string Name => "prepared";

    public FrameContent Render(FrameFormat format, uint frameNumber, IFrameSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (format != _format)
        {
            throw new InvalidOperationException($"prepared for {_format}, asked for {format}");
        }

        sink.Write(_frame);
        return FrameContent.Camera;
    }
}
