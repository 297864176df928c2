namespace Spectrum.Camera.Cli.Ctl;

/// <summary>
/// A ctl request that failed at run time (cannot connect, the service answered Error, no reply, connection lost):
/// printed as "spectrum-camera ctl: MESSAGE", exit status 1.
/// </summary>
internal sealed class CtlFailure(string message) : Exception(message);
