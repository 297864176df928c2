using Spectrum.Camera.CameraProbe;
using Spectrum.Camera.Cli;

// spectrum-camera-probe: exit 0 when every phase captured what it should, 1 otherwise, 2 on bad usage.
try
{
    return CameraProbeCommand.Run(args);
}
catch (UsageException e)
{
    Console.Error.WriteLine($"spectrum-camera-probe: {e.Message} (see --help)");
    return 2;
}
