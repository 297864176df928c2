using Spectrum.Camera.Frames;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The <see cref="IFrameSink"/> over a capture buffer's guest pages: frames are written straight into guest memory,
/// with no intermediate frame copy. Reused for every frame (no allocation); a write past the buffer is refused, never
/// performed, and marks the frame failed.
/// </summary>
internal sealed class GuestBufferSink : IFrameSink
{
    private readonly GuestRangeWriter _writer = new();

    public ulong Written => _writer.Written;

    public bool Faulted => _writer.Faulted;

    public void Open(GuestMemory memory, QueueBuffer buffer) =>
        _writer.Reset(memory, buffer.Ranges, 0, buffer.RangeCount);

    public void Write(ReadOnlySpan<byte> bytes) => _writer.Write(bytes);
}
