using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.FrontendTool;

/// <summary>What a delivered frame is: black (what the sidecar renders without camera frames), the project's test
/// pattern (its marker decodes), or anything else, an image from a camera. Plus a cheap fingerprint.</summary>
internal static class FrameClass
{
    public const string Black = "black", TestPattern = "test-pattern", Image = "image";

    /// <summary>Classifies one whole frame; <paramref name="meanLuma"/> over every 16th luma sample and an FNV-1a
    /// <paramref name="hash"/> over every 61st byte tell frames apart cheaply (a frozen camera repeats its hash).</summary>
    public static string Classify(FrameFormat format, ReadOnlySpan<byte> frame, out double meanLuma, out ulong hash)
    {
        var lumaStep = format.PixelFormat == PixelFormats.Yuyv ? 32 : 16;
        var lumaBytes = format.PixelFormat == PixelFormats.Yuyv ? frame.Length : (int)Math.Min((ulong)frame.Length, (ulong)format.Width * format.Height);
        long sum = 0;
        var count = 0;
        for (var i = 0; i < lumaBytes; i += lumaStep)
        {
            sum += frame[i];
            count++;
        }

        meanLuma = count == 0 ? 0 : (double)sum / count;
        hash = 0xcbf29ce484222325UL;
        for (var i = 0; i < frame.Length; i += 61)
        {
            hash = (hash ^ frame[i]) * 0x100000001b3UL;
        }

        if (frame.Length != format.SizeImage)
        {
            return Image;
        }

        if (TestPatternVerifier.IsBlack(format, frame))
        {
            return Black;
        }

        return TestPatternVerifier.TryDecode(format, frame, out _, out _) ? TestPattern : Image;
    }
}
