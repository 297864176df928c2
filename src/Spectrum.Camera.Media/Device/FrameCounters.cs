using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Media.Device;

/// <summary>Frame statistics of one device, for logs and the operator status.</summary>
public sealed class FrameCounters
{
    public ulong Delivered { get; private set; }

    public ulong Dropped { get; internal set; }

    public ulong Failed { get; private set; }

    public ulong Black { get; private set; }

    public ulong TestPattern { get; private set; }

    public ulong Camera { get; private set; }

    internal void Count(FrameContent content, bool failed)
    {
        if (failed)
        {
            Failed++;
            return;
        }

        Delivered++;
        switch (content)
        {
            case FrameContent.Black:
                Black++;
                break;
            case FrameContent.TestPattern:
                TestPattern++;
                break;
            default:
                Camera++;
                break;
        }
    }
}
