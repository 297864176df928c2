using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct v4l2_fract: a frame interval in seconds, numerator over denominator.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct V4l2Fract
{
    public uint Numerator;
    public uint Denominator;

    public V4l2Fract(uint numerator, uint denominator) => (Numerator, Denominator) = (numerator, denominator);
}
