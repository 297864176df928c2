using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Media.Device;

/// <summary>How an output device (the camera VM's) is set up at start; constant for the VM's lifetime.</summary>
public sealed record OutputDeviceOptions(string Card, StableMenu Menu, IFrameDestination Destination)
{
    public const string DefaultCard = "Spectrum Camera Output";

    /// <summary>Concurrent sessions allowed, as for the capture device.</summary>
    public int SessionLimit { get; init; } = 256;
}
