namespace Spectrum.Camera.Frames;

/// <summary>What a frame destination wants from a producer: frames in this format at this rate.</summary>
public sealed record FrameDemand(FrameFormat Format, FrameRate Rate);
