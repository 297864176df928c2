using System.Runtime.Intrinsics;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// The scaler's vertical pass: one destination row as the weighted sum of a few source rows, kept in 16-bit lanes
/// with 8 fractional bits. Weights sum to 256, so the sum is at most 255 * 256 = 65280 and never overflows a ushort;
/// keeping the fraction until the horizontal pass means the two passes round only once.
/// </summary>
/// <remarks>
/// It runs on whole source rows in their own layout (packed YUYV bytes included), because a vertical filter treats
/// every byte column alike; the horizontal pass then picks each component out with its step. The row is added tap by
/// tap into the accumulator, which for a 1080p YUYV row is 7.5 KiB and stays in L1.
/// </remarks>
internal static class VerticalFilterKernel
{
    /// <summary><c>acc[i] = src[i] * weight</c>.</summary>
    public static void Set(ReadOnlySpan<byte> src, int weight, Span<ushort> acc, SimdLevel level) =>
        Apply(src, weight, acc, level, accumulate: false);

    /// <summary><c>acc[i] += src[i] * weight</c>.</summary>
    public static void Add(ReadOnlySpan<byte> src, int weight, Span<ushort> acc, SimdLevel level) =>
        Apply(src, weight, acc, level, accumulate: true);

    private static void Apply(ReadOnlySpan<byte> src, int weight, Span<ushort> acc, SimdLevel level, bool accumulate)
    {
        var n = src.Length;
        InterleaveKernels.CheckLengths(acc.Length == n && weight is >= 0 and <= FilterAxis.One);
        var w = (ushort)weight;
        var i = 0;
        if (level >= SimdLevel.Vector256)
        {
            var vw = Vector256.Create(w);
            for (; i <= n - 32; i += 32)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(src[i..]));
                lo *= vw;
                hi *= vw;
                if (accumulate)
                {
                    lo += Vector256.Create<ushort>(acc[i..]);
                    hi += Vector256.Create<ushort>(acc[(i + 16)..]);
                }

                lo.CopyTo(acc[i..]);
                hi.CopyTo(acc[(i + 16)..]);
            }
        }

        if (level >= SimdLevel.Vector128)
        {
            var vw = Vector128.Create(w);
            for (; i <= n - 16; i += 16)
            {
                var (lo, hi) = Vector128.Widen(Vector128.Create(src[i..]));
                lo *= vw;
                hi *= vw;
                if (accumulate)
                {
                    lo += Vector128.Create<ushort>(acc[i..]);
                    hi += Vector128.Create<ushort>(acc[(i + 8)..]);
                }

                lo.CopyTo(acc[i..]);
                hi.CopyTo(acc[(i + 8)..]);
            }
        }

        for (; i < n; i++)
        {
            acc[i] = (ushort)((accumulate ? acc[i] : 0) + (src[i] * w));
        }
    }
}
