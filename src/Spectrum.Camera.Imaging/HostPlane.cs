namespace Spectrum.Camera.Imaging;

/// <summary>
/// Where one plane of a raw host frame lies in the frame's buffer: its first byte and its stride, as the host
/// driver reports them. Strides may exceed the visible row (drivers pad rows to 16, 32 or 64 bytes); the padding is
/// never read.
/// </summary>
public readonly record struct HostPlane(int Offset, int BytesPerLine);
