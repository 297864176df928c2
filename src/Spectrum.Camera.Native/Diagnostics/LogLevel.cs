namespace Spectrum.Camera.Native.Diagnostics;

/// <summary>Severity of an operator log line.</summary>
public enum LogLevel
{
    Debug,
    Info,
    Warning,
    Error,
}
