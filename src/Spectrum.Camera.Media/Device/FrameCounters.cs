using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// Frame statistics of one device, for logs and the operator status. A frame counts as delivered (or failed) when its
/// EVT_DQBUF is queued for the driver; if STREAMOFF, the owner's CLOSE or a reset then withdraws that event before the
/// driver got it, the frame moves to <see cref="Discarded"/>.
/// </summary>
public sealed class FrameCounters
{
    private ulong _black;
    private ulong _testPattern;
    private ulong _camera;

    public ulong Delivered { get; private set; }

    /// <summary>Frames rendered whose EVT_DQBUF was withdrawn before the driver took it.</summary>
    public ulong Discarded { get; private set; }

    public ulong Dropped { get; internal set; }

    public ulong Failed { get; private set; }

    public ulong Black => _black;

    public ulong TestPattern => _testPattern;

    public ulong Camera => _camera;

    internal void Count(FrameContent content, bool failed)
    {
        if (failed)
        {
            Failed++;
            return;
        }

        Delivered++;
        ContentCounter(content)++;
    }

    /// <summary>Takes back a frame counted by <see cref="Count"/> whose event never reached the driver.</summary>
    internal void Withdraw(FrameContent content, bool failed)
    {
        Discarded++;
        if (failed)
        {
            Failed--;
            return;
        }

        Delivered--;
        ContentCounter(content)--;
    }

    private ref ulong ContentCounter(FrameContent content)
    {
        switch (content)
        {
            case FrameContent.Black:
                return ref _black;
            case FrameContent.TestPattern:
                return ref _testPattern;
            default:
                return ref _camera;
        }
    }
}
