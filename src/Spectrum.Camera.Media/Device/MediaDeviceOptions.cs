using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Media.Device;

/// <summary>How a capture device is set up at start; constant for the VM's lifetime.</summary>
public sealed record MediaDeviceOptions(string Card, StableMenu Menu, IFrameSource Source)
{
    public const string DefaultCard = "Spectrum Camera";

    /// <summary>Concurrent sessions allowed (v4l2-compliance opens 100 at once; beyond the limit OPEN gets EBUSY).</summary>
    public int SessionLimit { get; init; } = 256;
}
