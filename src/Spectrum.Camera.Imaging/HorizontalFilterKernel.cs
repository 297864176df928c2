namespace Spectrum.Camera.Imaging;

/// <summary>
/// The scaler's horizontal pass: each destination sample of one component as the weighted sum of a few samples
/// of a vertically filtered row, rounded once (<c>(sum + 2^15) >> 16</c>), mapped through a 256-entry table
/// (identity, or full-to-limited range) and stored at its place in the destination row.
/// </summary>
/// <remarks>
/// Scalar on purpose: the general scaler only serves what <see cref="VectorScaledConverter"/> (whose horizontal pass
/// gathers taps with byte shuffles) does not take, 4:2:0 cameras and JPEG planes to a scaled YUYV guest and
/// greyscale JPEGs. It runs only over destination samples, after the vertical pass has already cut the rows down, and
/// the common tap counts get unrolled loops.
/// </remarks>
internal static class HorizontalFilterKernel
{
    private const int Round = 1 << 15;

    /// <param name="acc">The vertically filtered row (8 fractional bits).</param>
    /// <param name="starts">Per destination sample, the index in <paramref name="acc"/> of its first tap.</param>
    /// <param name="weights"><paramref name="taps"/> weights per destination sample (sum 256).</param>
    /// <param name="taps">Taps per sample.</param>
    /// <param name="step">Distance in <paramref name="acc"/> between a component's neighbouring samples.</param>
    /// <param name="dst">The destination row.</param>
    /// <param name="offset">Where the component's first sample goes in <paramref name="dst"/>.</param>
    /// <param name="dstStep">Distance in <paramref name="dst"/> between the component's samples.</param>
    /// <param name="map">The 256-entry output table.</param>
    public static void Apply(
        ReadOnlySpan<ushort> acc, ReadOnlySpan<int> starts, ReadOnlySpan<int> weights, int taps, int step,
        Span<byte> dst, int offset, int dstStep, ReadOnlySpan<byte> map)
    {
        InterleaveKernels.CheckLengths(weights.Length == starts.Length * taps && map.Length == 256);
        var o = offset;
        switch (taps)
        {
            case 1:
                for (var x = 0; x < starts.Length; x++, o += dstStep)
                {
                    dst[o] = map[((weights[x] * acc[starts[x]]) + Round) >> 16];
                }

                break;
            case 2:
                for (var x = 0; x < starts.Length; x++, o += dstStep)
                {
                    var s = starts[x];
                    var sum = (weights[2 * x] * acc[s]) + (weights[(2 * x) + 1] * acc[s + step]);
                    dst[o] = map[(sum + Round) >> 16];
                }

                break;
            case 3:
                for (var x = 0; x < starts.Length; x++, o += dstStep)
                {
                    var s = starts[x];
                    var w = weights.Slice(3 * x, 3);
                    var sum = (w[0] * acc[s]) + (w[1] * acc[s + step]) + (w[2] * acc[s + (2 * step)]);
                    dst[o] = map[(sum + Round) >> 16];
                }

                break;
            default:
                for (var x = 0; x < starts.Length; x++, o += dstStep)
                {
                    var w = weights.Slice(taps * x, taps);
                    var sum = 0;
                    for (int t = 0, s = starts[x]; t < taps; t++, s += step)
                    {
                        sum += w[t] * acc[s];
                    }

                    dst[o] = map[(sum + Round) >> 16];
                }

                break;
        }
    }
}
