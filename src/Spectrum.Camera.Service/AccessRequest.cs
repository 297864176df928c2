using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Service;

/// <summary>
/// A stream of an ask-mode VM waiting for an operator: who asked for which camera in which format, when, and until
/// when (then the stream is denied). The VM sees black frames meanwhile.
/// </summary>
internal sealed record AccessRequest(
    ulong Id, string Vm, string Camera, StreamRequest Stream, long TimeUnixMs, long DeadlineUnixMs, long DeadlineNs)
{
    /// <summary>The request as the operator API shows it.</summary>
    public CameraRequest ToMessage() => new()
    {
        Id = Id,
        Vm = Vm,
        Camera = Camera,
        GuestFormat = CameraService.Describe(Stream),
        PixelFormat = Stream.Format.PixelFormat,
        Width = Stream.Format.Width,
        Height = Stream.Format.Height,
        IntervalNumerator = Stream.Rate.Numerator,
        IntervalDenominator = Stream.Rate.Denominator,
        TimeUnixMs = TimeUnixMs,
        DeadlineUnixMs = DeadlineUnixMs,
    };
}
