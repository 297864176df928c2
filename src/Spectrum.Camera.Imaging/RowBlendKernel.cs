using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// The vertical pass of <see cref="VectorScaledConverter"/>: one destination row as the weighted sum of a few
/// horizontally filtered rows (<see cref="ShuffleFilterKernel"/>), rounded once and stored as bytes, either as one run
/// (<see cref="Store"/>), split into even and odd values (<see cref="StoreSplit"/>: I420's Cb and Cr from an
/// interleaved row) or zipped from two runs (<see cref="StoreZip"/>: YUYV from a luma run and a CbCr run). Value i is
/// <c>(sum of weight[t] * (rows[t][i] + 32768) + 2^15) >> 16</c>.
/// </summary>
/// <remarks>
/// <para>The filtered rows carry 8 fractional bits and the vertical weights 8 more, so the sum needs 32 bits. Rows
/// go in pairs: interleaving two rows' 16-bit values and one <c>pmaddwd</c> with the pair's two weights gives both
/// products, summed, in 32-bit lanes. The rows' -32768 offset is removed with the rounding constant (the weights sum
/// to 256, so it is 256 * 32768 in total). This is exactly the scalar reference's arithmetic in another order of
/// summation, which integer sums do not mind, so the output is the same to the bit.</para>
/// <para>Rows shorter than a vector are done in scalar; the last vector of a longer row overlaps the one before it
/// rather than leaving a tail, since writing the same bytes twice is harmless.</para>
/// </remarks>
internal static class RowBlendKernel
{
    /// <summary>Added before the final shift: 2^15 to round, and back the 32768 each filtered value lacks.</summary>
    public const int Bias = (1 << 15) + (FilterAxis.One * ShuffleFilterKernel.Offset);

    private static Vector128<byte> EvenThenOdd => Vector128.Create((byte)0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);

    /// <summary><c>dst[i]</c> = value <c>start + i</c>.</summary>
    /// <param name="rows">At least <c>taps</c> filtered rows, rounded up to an even count (the spare one may be any row: its weight is 0).</param>
    /// <param name="weights">The <paramref name="taps"/> vertical weights, summing to 256.</param>
    /// <param name="taps">Rows in the sum.</param>
    /// <param name="start">First value of each row to use.</param>
    /// <param name="dst">The destination bytes.</param>
    /// <param name="packed">Scratch for the pair weights, <c>(taps + 1) / 2</c> long.</param>
    /// <param name="level">The widest vectors to use.</param>
    public static void Store(short[][] rows, ReadOnlySpan<int> weights, int taps, int start, Span<byte> dst, Span<int> packed, SimdLevel level)
    {
        var pairs = PackWeights(rows, weights, taps, packed);
        var n = dst.Length;
        var i = 0;
        if (level >= SimdLevel.Vector256 && Avx2.IsSupported && n >= 32)
        {
            for (; ; i += 32)
            {
                i = Math.Min(i, n - 32);
                Chunk256(rows, pairs, start + i).CopyTo(dst.Slice(i, 32));
                if (i == n - 32)
                {
                    return;
                }
            }
        }

        if (level >= SimdLevel.Vector128 && n >= 16)
        {
            for (; ; i += 16)
            {
                i = Math.Min(i, n - 16);
                Chunk128(rows, pairs, start + i).CopyTo(dst.Slice(i, 16));
                if (i == n - 16)
                {
                    return;
                }
            }
        }

        for (; i < n; i++)
        {
            dst[i] = Value(rows, weights, taps, start + i);
        }
    }

    /// <summary><c>even[i]</c> = value <c>start + 2i</c>, <c>odd[i]</c> = value <c>start + 2i + 1</c>.</summary>
    /// <inheritdoc cref="Store" path="/param"/>
    public static void StoreSplit(
        short[][] rows, ReadOnlySpan<int> weights, int taps, int start, Span<byte> even, Span<byte> odd, Span<int> packed, SimdLevel level)
    {
        InterleaveKernels.CheckLengths(odd.Length == even.Length);
        var pairs = PackWeights(rows, weights, taps, packed);
        var n = 2 * even.Length;
        var i = 0;
        if (level >= SimdLevel.Vector256 && Avx2.IsSupported && n >= 32)
        {
            for (; ; i += 32)
            {
                i = Math.Min(i, n - 32);
                // Even bytes to the low half of each lane, odd to the high half, then the four halves in order.
                var bytes = Avx2.Shuffle(Chunk256(rows, pairs, start + i), Vector256.Create(EvenThenOdd, EvenThenOdd));
                var halves = Avx2.Permute4x64(bytes.AsInt64(), 0b11_01_10_00).AsByte();
                halves.GetLower().CopyTo(even.Slice(i / 2, 16));
                halves.GetUpper().CopyTo(odd.Slice(i / 2, 16));
                if (i == n - 32)
                {
                    return;
                }
            }
        }

        if (level >= SimdLevel.Vector128 && n >= 16)
        {
            for (; ; i += 16)
            {
                i = Math.Min(i, n - 16);
                var halves = PackedMultiplyAdd.Shuffle(Chunk128(rows, pairs, start + i), EvenThenOdd);
                halves.GetLower().CopyTo(even.Slice(i / 2, 8));
                halves.GetUpper().CopyTo(odd.Slice(i / 2, 8));
                if (i == n - 16)
                {
                    return;
                }
            }
        }

        for (; i < n; i += 2)
        {
            even[i / 2] = Value(rows, weights, taps, start + i);
            odd[i / 2] = Value(rows, weights, taps, start + i + 1);
        }
    }

    /// <summary><c>dst[2i]</c> = value <c>start + i</c>, <c>dst[2i + 1]</c> = value <c>second + i</c>.</summary>
    /// <inheritdoc cref="Store" path="/param"/>
    /// <param name="second">First value of the run stored in the odd bytes.</param>
    public static void StoreZip(
        short[][] rows, ReadOnlySpan<int> weights, int taps, int start, int second, Span<byte> dst, Span<int> packed, SimdLevel level)
    {
        InterleaveKernels.CheckLengths(dst.Length % 2 == 0);
        var pairs = PackWeights(rows, weights, taps, packed);
        var n = dst.Length / 2;
        var i = 0;
        if (level >= SimdLevel.Vector256 && Avx2.IsSupported && n >= 32)
        {
            for (; ; i += 32)
            {
                i = Math.Min(i, n - 32);
                var (a, b) = (Chunk256(rows, pairs, start + i), Chunk256(rows, pairs, second + i));
                // Little-endian 16-bit lanes a | b << 8 are the byte pairs a, b in order.
                (Vector256.WidenLower(a) | (Vector256.WidenLower(b) << 8)).AsByte().CopyTo(dst.Slice(2 * i, 32));
                (Vector256.WidenUpper(a) | (Vector256.WidenUpper(b) << 8)).AsByte().CopyTo(dst.Slice((2 * i) + 32, 32));
                if (i == n - 32)
                {
                    return;
                }
            }
        }

        if (level >= SimdLevel.Vector128 && n >= 16)
        {
            for (; ; i += 16)
            {
                i = Math.Min(i, n - 16);
                var (a, b) = (Chunk128(rows, pairs, start + i), Chunk128(rows, pairs, second + i));
                (Vector128.WidenLower(a) | (Vector128.WidenLower(b) << 8)).AsByte().CopyTo(dst.Slice(2 * i, 16));
                (Vector128.WidenUpper(a) | (Vector128.WidenUpper(b) << 8)).AsByte().CopyTo(dst.Slice((2 * i) + 16, 16));
                if (i == n - 16)
                {
                    return;
                }
            }
        }

        for (; i < n; i++)
        {
            dst[2 * i] = Value(rows, weights, taps, start + i);
            dst[(2 * i) + 1] = Value(rows, weights, taps, second + i);
        }
    }

    // The pair weights (low 16 bits for the pair's first row: little-endian), as many as pairs of rows.
    private static ReadOnlySpan<int> PackWeights(short[][] rows, ReadOnlySpan<int> weights, int taps, Span<int> packed)
    {
        var pairs = (taps + 1) / 2;
        InterleaveKernels.CheckLengths(rows.Length >= 2 * pairs && weights.Length >= taps && packed.Length >= pairs);
        for (var p = 0; p < pairs; p++)
        {
            var second = (2 * p) + 1 < taps ? weights[(2 * p) + 1] : 0;
            packed[p] = (ushort)weights[2 * p] | (second << 16);
        }

        return packed[..pairs];
    }

    private static byte Value(short[][] rows, ReadOnlySpan<int> weights, int taps, int at)
    {
        var sum = Bias;
        for (var t = 0; t < taps; t++)
        {
            sum += weights[t] * rows[t][at];
        }

        return (byte)(sum >> 16);
    }

    private static Vector256<byte> Chunk256(short[][] rows, ReadOnlySpan<int> packed, int at)
    {
        var a0 = Vector256.Create(Bias);
        var (a1, b0, b1) = (a0, a0, a0);
        for (var p = 0; p < packed.Length; p++)
        {
            var w = Vector256.Create(packed[p]).AsInt16();
            var first = rows[2 * p].AsSpan(at, 32);
            var second = rows[(2 * p) + 1].AsSpan(at, 32);
            var x = Vector256.Create<short>(first);
            var y = Vector256.Create<short>(second);
            a0 += Avx2.MultiplyAddAdjacent(Avx2.UnpackLow(x, y), w);
            a1 += Avx2.MultiplyAddAdjacent(Avx2.UnpackHigh(x, y), w);
            x = Vector256.Create<short>(first[16..]);
            y = Vector256.Create<short>(second[16..]);
            b0 += Avx2.MultiplyAddAdjacent(Avx2.UnpackLow(x, y), w);
            b1 += Avx2.MultiplyAddAdjacent(Avx2.UnpackHigh(x, y), w);
        }

        // Unpack then pack restores the order within each 128-bit lane; the bytes pack interleaves the lanes of its
        // two inputs, which the 64-bit permute puts back in order.
        var low = Avx2.PackSignedSaturate(Avx2.ShiftRightArithmetic(a0, 16), Avx2.ShiftRightArithmetic(a1, 16));
        var high = Avx2.PackSignedSaturate(Avx2.ShiftRightArithmetic(b0, 16), Avx2.ShiftRightArithmetic(b1, 16));
        return Avx2.Permute4x64(Avx2.PackUnsignedSaturate(low, high).AsInt64(), 0b11_01_10_00).AsByte();
    }

    private static Vector128<byte> Chunk128(short[][] rows, ReadOnlySpan<int> packed, int at)
    {
        var a0 = Vector128.Create(Bias);
        var (a1, b0, b1) = (a0, a0, a0);
        for (var p = 0; p < packed.Length; p++)
        {
            var w = Vector128.Create(packed[p]).AsInt16();
            var first = rows[2 * p].AsSpan(at, 16);
            var second = rows[(2 * p) + 1].AsSpan(at, 16);
            var x = Vector128.Create<short>(first);
            var y = Vector128.Create<short>(second);
            a0 += PackedMultiplyAdd.Shorts(PackedMultiplyAdd.InterleaveLower(x, y), w);
            a1 += PackedMultiplyAdd.Shorts(PackedMultiplyAdd.InterleaveUpper(x, y), w);
            x = Vector128.Create<short>(first[8..]);
            y = Vector128.Create<short>(second[8..]);
            b0 += PackedMultiplyAdd.Shorts(PackedMultiplyAdd.InterleaveLower(x, y), w);
            b1 += PackedMultiplyAdd.Shorts(PackedMultiplyAdd.InterleaveUpper(x, y), w);
        }

        return PackedMultiplyAdd.NarrowToBytes(a0 >> 16, a1 >> 16, b0 >> 16, b1 >> 16);
    }
}
