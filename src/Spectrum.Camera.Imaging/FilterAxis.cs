namespace Spectrum.Camera.Imaging;

/// <summary>
/// The resampling filter along one axis, as integer taps: destination sample i is
/// <c>sum over t of Weights[i * Taps + t] * source[Starts[i] + t]</c>, with the weights of every sample summing to
/// <see cref="One"/> (256). Built once per configuration; the scaler and its scalar reference both use it, so they
/// share one definition of the filter and differ only in how they run it.
/// </summary>
/// <remarks>
/// <para><b>Shrinking or equal size: area (box) filter.</b> Each destination sample covers the interval
/// <c>[i S/D, (i+1) S/D)</c> of the source and takes the average of the source samples under it, each weighted by
/// the length it covers. This is what ffmpeg's <c>flags=area</c> and OpenCV's INTER_AREA aim for: every source pixel
/// counts (no aliasing at 3:1 or 6:1, where bilinear would skip pixels), and integer ratios are exact box averages.
/// At ratio 1 it is the identity, at ratio 2 the rounded average <c>(a + b + 1) >> 1</c>.</para>
/// <para><b>Enlarging: bilinear</b>, sample centres aligned (<c>x_src = (i + 0.5) S/D - 0.5</c>), edges clamped.
/// An area filter would only repeat pixels when enlarging. At ratio 1/2 this is the 3/4, 1/4 chroma interpolation of
/// <see cref="ChromaKernels.Interpolate"/>.</para>
/// <para>Real weights are quantised to 1/256 by cumulative rounding (<c>w_j = round(256 C_j) - round(256 C_(j-1))</c>
/// for the running sums C), which keeps every weight within 1/256 of its exact value and the sum exactly 256.</para>
/// </remarks>
internal sealed class FilterAxis
{
    /// <summary>The sum of each sample's weights: 8 fractional bits.</summary>
    public const int One = 256;

    private FilterAxis(int sourceLength, int destinationLength, int taps, int[] starts, int[] weights)
    {
        SourceLength = sourceLength;
        DestinationLength = destinationLength;
        Taps = taps;
        Starts = starts;
        Weights = weights;
    }

    public int SourceLength { get; }

    public int DestinationLength { get; }

    /// <summary>Taps per destination sample (trailing or leading zero weights pad samples that need fewer).</summary>
    public int Taps { get; }

    /// <summary>The first source sample of each destination sample; <c>Starts[i] + Taps &lt;= SourceLength</c>.</summary>
    public int[] Starts { get; }

    /// <summary><see cref="Taps"/> weights per destination sample.</summary>
    public int[] Weights { get; }

    public ReadOnlySpan<int> WeightsOf(int index) => Weights.AsSpan(index * Taps, Taps);

    /// <summary>The filter from <paramref name="sourceLength"/> samples to <paramref name="destinationLength"/>.</summary>
    public static FilterAxis Create(int sourceLength, int destinationLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(destinationLength, 1);
        var taps = new List<(int Start, int[] Weights)>(destinationLength);
        for (var i = 0; i < destinationLength; i++)
        {
            taps.Add(sourceLength >= destinationLength
                ? AreaTaps(sourceLength, destinationLength, i)
                : BilinearTaps(sourceLength, destinationLength, i));
        }

        var count = taps.Max(t => t.Weights.Length);
        var starts = new int[destinationLength];
        var weights = new int[destinationLength * count];
        for (var i = 0; i < destinationLength; i++)
        {
            var (start, w) = taps[i];
            // Pad to `count` taps; near the right edge pad on the left so no tap reads past the source.
            var shift = Math.Max(0, start + count - sourceLength);
            starts[i] = start - shift;
            w.CopyTo(weights, (i * count) + shift);
        }

        return new FilterAxis(sourceLength, destinationLength, count, starts, weights);
    }

    // Exact coverage in units of 1/D source samples: destination i covers [i S, (i+1) S), source j covers [j D, (j+1) D).
    private static (int Start, int[] Weights) AreaTaps(int s, int d, int i)
    {
        var begin = (long)i * s;
        var end = begin + s;
        var first = (int)(begin / d);
        var last = (int)((end - 1) / d);
        var weights = new int[last - first + 1];
        long covered = 0;
        var previous = 0;
        for (var j = first; j <= last; j++)
        {
            covered += Math.Min(end, (long)(j + 1) * d) - Math.Max(begin, (long)j * d);
            var cumulative = (int)(((2 * covered * One) + s) / (2L * s));
            weights[j - first] = cumulative - previous;
            previous = cumulative;
        }

        return (first, weights);
    }

    // Centre of destination i in source samples, times 2D: (2i + 1) S - D.
    private static (int Start, int[] Weights) BilinearTaps(int s, int d, int i)
    {
        if (s == 1)
        {
            return (0, [One]);
        }

        var centre = (((2L * i) + 1) * s) - d;
        if (centre < 0)
        {
            return (0, [One, 0]);
        }

        var left = (int)(centre / (2L * d));
        if (left >= s - 1)
        {
            return (s - 2, [0, One]);
        }

        var fraction = centre - (2L * d * left);
        var right = (int)(((fraction * One) + d) / (2L * d));
        return (left, [One - right, right]);
    }
}
