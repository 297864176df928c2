using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The <see cref="IFrameSink"/> over a device-owned buffer: frames are rendered straight into its memfd, which the
/// guest sees through its window mapping. Reused for every frame (no allocation); a write past the buffer is refused,
/// never performed, and marks the frame failed.
/// </summary>
internal sealed class MmapBufferSink : IFrameSink
{
    private MmapBuffer? _buffer;

    public ulong Written { get; private set; }

    public bool Faulted { get; private set; }

    public void Open(MmapBuffer buffer)
    {
        _buffer = buffer;
        Written = 0;
        Faulted = false;
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        var memory = _buffer is { IsDisposed: false } b ? b.Memory : default;
        if (Faulted || (ulong)bytes.Length > (ulong)memory.Length - Written)
        {
            Faulted = true;
            return;
        }

        bytes.CopyTo(memory[(int)Written..]);
        Written += (ulong)bytes.Length;
    }
}
