using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// The horizontal pass of <see cref="VectorScaledConverter"/>: one source row filtered into a row of 16-bit sums, one per
/// slot of a <see cref="ShuffleFilterTable"/>, each <c>sum of weight * sample - 32768</c> (in [-32768, 32512]).
/// </summary>
/// <remarks>
/// <para>The vector form gathers each lane's bytes with byte shuffles from 16-byte loads, flips them to signed
/// (<c>s - 128</c>, an XOR with 0x80) and multiplies each neighbouring pair by its two weights with one
/// <c>pmaddubsw</c>: 16 output samples per 256-bit instruction. The flip is what makes that instruction usable: it
/// multiplies unsigned bytes (the weights, up to 255) by signed ones, and since a sample's weights sum to 256 the
/// flipped sum is the true sum minus 32768, which fits 16 bits exactly and never saturates. The vertical pass
/// (<see cref="RowBlendKernel"/>) adds the 32768 back. The flip is applied to the loaded bytes, before the shuffles:
/// bytes a shuffle zeroes are either supplied by another group's shuffle (OR) or carry weight 0.</para>
/// <para>Every load is a bounds-checked 16-byte slice of a row, inside the bytes the table allows for that row.</para>
/// </remarks>
internal static class ShuffleFilterKernel
{
    /// <summary>What the signed form subtracts from each sum: 128 per sample times weights summing to 256.</summary>
    public const int Offset = 128 * FilterAxis.One;

    /// <param name="table">The filter.</param>
    /// <param name="rows">The rows of the pass's planes (from their first byte; the table's offsets count from there).</param>
    /// <param name="filtered"><see cref="ShuffleFilterTable.Slots"/> sums.</param>
    public static void Apply(ShuffleFilterTable table, SourceRows rows, Span<short> filtered)
    {
        InterleaveKernels.CheckLengths(filtered.Length == table.Slots);
        switch (table.Level)
        {
            case SimdLevel.Vector256 when table.BytePermute && table.PermuteWindow == 64:
                ApplyPermute256(table, rows[table.SlotPlane[0]], filtered);
                break;
            case SimdLevel.Vector256 when table.BytePermute:
                ApplyPermute512(table, rows[table.SlotPlane[0]], filtered);
                break;
            case SimdLevel.Vector256 when table.SinglePlane && table.SharedLoads:
                Apply256(table, rows[table.SlotPlane[0]], filtered);
                break;
            case SimdLevel.Vector256:
                ApplyPlanes256(table, rows, filtered);
                break;
            case SimdLevel.Vector128 when table.SinglePlane && table.SharedLoads:
                Apply128(table, rows[table.SlotPlane[0]], filtered);
                break;
            case SimdLevel.Vector128:
                ApplyPlanes128(table, rows, filtered);
                break;
            default:
                ApplyScalar(table, rows, filtered);
                break;
        }
    }

    private static void ApplyScalar(ShuffleFilterTable table, SourceRows rows, Span<short> filtered)
    {
        var taps = 2 * table.Pairs;
        var offsets = table.TapOffset.AsSpan();
        var weights = table.TapWeight.AsSpan();
        for (var s = 0; s < filtered.Length; s++)
        {
            var row = rows[table.SlotPlane[s]];
            var sum = 0;
            for (var t = s * taps; t < (s + 1) * taps; t++)
            {
                sum += weights[t] * row[offsets[t]];
            }

            filtered[s] = (short)(sum - Offset);
        }
    }

    // One plane, as Apply256 at half the width.
    private static void Apply128(ShuffleFilterTable table, ReadOnlySpan<byte> row, Span<short> filtered)
    {
        var (loads, masks, weights, starts) = (table.Loads128, table.Masks128, table.Weights128, table.ChunkStarts);
        switch ((table.Pairs, table.Windows))
        {
            case (1, 1):
                for (var c = 0; c < starts.Length; c++)
                {
                    var gathered = PackedMultiplyAdd.Shuffle(Load(row, loads[c]), masks[c]);
                    PackedMultiplyAdd.Bytes(weights[c], gathered.AsSByte()).CopyTo(filtered[starts[c]..]);
                }

                break;
            case (1, 2):
                for (var c = 0; c < starts.Length; c++)
                {
                    var gathered = PackedMultiplyAdd.Shuffle(Load(row, loads[2 * c]), masks[2 * c])
                        | PackedMultiplyAdd.Shuffle(Load(row, loads[(2 * c) + 1]), masks[(2 * c) + 1]);
                    PackedMultiplyAdd.Bytes(weights[c], gathered.AsSByte()).CopyTo(filtered[starts[c]..]);
                }

                break;
            case (2, 1):
                for (var c = 0; c < starts.Length; c++)
                {
                    var bytes = Load(row, loads[c]);
                    var sum = PackedMultiplyAdd.Bytes(weights[2 * c], PackedMultiplyAdd.Shuffle(bytes, masks[2 * c]).AsSByte());
                    sum += PackedMultiplyAdd.Bytes(weights[(2 * c) + 1], PackedMultiplyAdd.Shuffle(bytes, masks[(2 * c) + 1]).AsSByte());
                    sum.CopyTo(filtered[starts[c]..]);
                }

                break;
            case (2, 2):
                for (var c = 0; c < starts.Length; c++)
                {
                    var (a, b) = (Load(row, loads[2 * c]), Load(row, loads[(2 * c) + 1]));
                    var m = 4 * c;
                    var pair0 = PackedMultiplyAdd.Shuffle(a, masks[m]) | PackedMultiplyAdd.Shuffle(b, masks[m + 2]);
                    var pair1 = PackedMultiplyAdd.Shuffle(a, masks[m + 1]) | PackedMultiplyAdd.Shuffle(b, masks[m + 3]);
                    var sum = PackedMultiplyAdd.Bytes(weights[2 * c], pair0.AsSByte());
                    sum += PackedMultiplyAdd.Bytes(weights[(2 * c) + 1], pair1.AsSByte());
                    sum.CopyTo(filtered[starts[c]..]);
                }

                break;
            default:
                ApplyPlanes128(table, new SourceRows(row, row, row), filtered);
                break;
        }
    }

    // The flipped bytes of one lane's load.
    private static Vector128<byte> Load(ReadOnlySpan<byte> row, ShuffleFilterTable.Load load) =>
        Vector128.Create(row.Slice(load.Base, 16)) ^ Vector128.Create((byte)0x80);

    private static void ApplyPlanes128(ShuffleFilterTable table, SourceRows rows, Span<short> filtered)
    {
        var flip = Vector128.Create((byte)0x80);
        var (loads, masks, weights, starts) = (table.Loads128, table.Masks128, table.Weights128, table.ChunkStarts);
        var (pairs, windows) = (table.Pairs, table.Windows);
        Span<Vector128<byte>> gathered = stackalloc Vector128<byte>[pairs];
        int kl = 0, km = 0, kw = 0;
        for (var c = 0; c < starts.Length; c++)
        {
            gathered.Clear();
            if (table.SharedLoads)
            {
                for (var w = 0; w < windows; w++)
                {
                    var bytes = Load(rows, loads[kl++]) ^ flip;
                    for (var p = 0; p < pairs; p++)
                    {
                        gathered[p] |= PackedMultiplyAdd.Shuffle(bytes, masks[km++]);
                    }
                }
            }
            else
            {
                for (var p = 0; p < pairs; p++)
                {
                    for (var w = 0; w < windows; w++)
                    {
                        gathered[p] |= PackedMultiplyAdd.Shuffle(Load(rows, loads[kl++]) ^ flip, masks[km++]);
                    }
                }
            }

            var sum = Vector128<short>.Zero;
            for (var p = 0; p < pairs; p++)
            {
                sum += PackedMultiplyAdd.Bytes(weights[kw++], gathered[p].AsSByte());
            }

            sum.CopyTo(filtered[starts[c]..]);
        }
    }

    private static Vector128<byte> Load(SourceRows rows, ShuffleFilterTable.Load load) => Vector128.Create(rows[load.Plane].Slice(load.Base, 16));

    // One plane: the common shapes (one or two tap pairs, one or two loads per lane) get loops without inner loops,
    // which the JIT keeps in registers.
    private static void Apply256(ShuffleFilterTable table, ReadOnlySpan<byte> row, Span<short> filtered)
    {
        var (loads, masks, weights, starts) = (table.Loads256, table.Masks256, table.Weights256, table.ChunkStarts);
        switch ((table.Pairs, table.Windows))
        {
            case (1, 1):
                for (var c = 0; c < starts.Length; c++)
                {
                    var gathered = Avx2.Shuffle(Load(row, loads[c]), masks[c]);
                    Avx2.MultiplyAddAdjacent(weights[c], gathered.AsSByte()).CopyTo(filtered[starts[c]..]);
                }

                break;
            case (1, 2):
                for (var c = 0; c < starts.Length; c++)
                {
                    var gathered = Avx2.Shuffle(Load(row, loads[2 * c]), masks[2 * c])
                        | Avx2.Shuffle(Load(row, loads[(2 * c) + 1]), masks[(2 * c) + 1]);
                    Avx2.MultiplyAddAdjacent(weights[c], gathered.AsSByte()).CopyTo(filtered[starts[c]..]);
                }

                break;
            case (2, 1):
                for (var c = 0; c < starts.Length; c++)
                {
                    var bytes = Load(row, loads[c]);
                    var sum = Avx2.MultiplyAddAdjacent(weights[2 * c], Avx2.Shuffle(bytes, masks[2 * c]).AsSByte());
                    sum += Avx2.MultiplyAddAdjacent(weights[(2 * c) + 1], Avx2.Shuffle(bytes, masks[(2 * c) + 1]).AsSByte());
                    sum.CopyTo(filtered[starts[c]..]);
                }

                break;
            case (2, 2):
                for (var c = 0; c < starts.Length; c++)
                {
                    var (a, b) = (Load(row, loads[2 * c]), Load(row, loads[(2 * c) + 1]));
                    var m = 4 * c;
                    var pair0 = Avx2.Shuffle(a, masks[m]) | Avx2.Shuffle(b, masks[m + 2]);
                    var pair1 = Avx2.Shuffle(a, masks[m + 1]) | Avx2.Shuffle(b, masks[m + 3]);
                    var sum = Avx2.MultiplyAddAdjacent(weights[2 * c], pair0.AsSByte());
                    sum += Avx2.MultiplyAddAdjacent(weights[(2 * c) + 1], pair1.AsSByte());
                    sum.CopyTo(filtered[starts[c]..]);
                }

                break;
            default:
                ApplyPlanes256(table, new SourceRows(row, row, row), filtered);
                break;
        }
    }

    // AVX-512 VBMI: each chunk's 64-byte window in two registers, one two-register byte permute per tap pair.
    private static void ApplyPermute256(ShuffleFilterTable table, ReadOnlySpan<byte> row, Span<short> filtered)
    {
        var flip = Vector256.Create((byte)0x80);
        var (bases, indices, weights, starts) = (table.PermuteBases, table.PermuteIndices, table.Weights256, table.ChunkStarts);
        var pairs = table.Pairs;
        for (var c = 0; c < starts.Length; c++)
        {
            var window = row.Slice(bases[c], 64);
            var low = Vector256.Create(window) ^ flip;
            var high = Vector256.Create(window[32..]) ^ flip;
            var sum = Avx2.MultiplyAddAdjacent(weights[c * pairs], Avx512Vbmi.VL.PermuteVar32x8x2(low, indices[c * pairs], high).AsSByte());
            for (var p = 1; p < pairs; p++)
            {
                var k = (c * pairs) + p;
                sum += Avx2.MultiplyAddAdjacent(weights[k], Avx512Vbmi.VL.PermuteVar32x8x2(low, indices[k], high).AsSByte());
            }

            sum.CopyTo(filtered[starts[c]..]);
        }
    }

    // AVX-512 VBMI for wide ratios: a 128-byte window in two 64-byte registers, the 512-bit permute, its low half used.
    private static void ApplyPermute512(ShuffleFilterTable table, ReadOnlySpan<byte> row, Span<short> filtered)
    {
        var flip = Vector512.Create((byte)0x80);
        var (bases, indices, weights, starts) = (table.PermuteBases, table.WidePermuteIndices, table.Weights256, table.ChunkStarts);
        var pairs = table.Pairs;
        for (var c = 0; c < starts.Length; c++)
        {
            var window = row.Slice(bases[c], 128);
            var low = Vector512.Create(window) ^ flip;
            var high = Vector512.Create(window[64..]) ^ flip;
            var sum = Vector256<short>.Zero;
            for (var p = 0; p < pairs; p++)
            {
                var k = (c * pairs) + p;
                sum += Avx2.MultiplyAddAdjacent(weights[k], Avx512Vbmi.PermuteVar64x8x2(low, indices[k], high).GetLower().AsSByte());
            }

            sum.CopyTo(filtered[starts[c]..]);
        }
    }

    // The flipped bytes of both lanes' loads.
    private static Vector256<byte> Load(ReadOnlySpan<byte> row, in ShuffleFilterTable.LanePair loads) =>
        Vector256.Create(Vector128.Create(row.Slice(loads.Low.Base, 16)), Vector128.Create(row.Slice(loads.High.Base, 16)))
        ^ Vector256.Create((byte)0x80);

    private static void ApplyPlanes256(ShuffleFilterTable table, SourceRows rows, Span<short> filtered)
    {
        var flip = Vector256.Create((byte)0x80);
        var (loads, masks, weights, starts) = (table.Loads256, table.Masks256, table.Weights256, table.ChunkStarts);
        var (pairs, windows) = (table.Pairs, table.Windows);
        Span<Vector256<byte>> gathered = stackalloc Vector256<byte>[pairs];
        int kl = 0, km = 0, kw = 0;
        for (var c = 0; c < starts.Length; c++)
        {
            gathered.Clear();
            if (table.SharedLoads)
            {
                for (var w = 0; w < windows; w++)
                {
                    var bytes = Load(rows, loads[kl++]) ^ flip;
                    for (var p = 0; p < pairs; p++)
                    {
                        gathered[p] |= Avx2.Shuffle(bytes, masks[km++]);
                    }
                }
            }
            else
            {
                for (var p = 0; p < pairs; p++)
                {
                    for (var w = 0; w < windows; w++)
                    {
                        gathered[p] |= Avx2.Shuffle(Load(rows, loads[kl++]) ^ flip, masks[km++]);
                    }
                }
            }

            var sum = Vector256<short>.Zero;
            for (var p = 0; p < pairs; p++)
            {
                sum += Avx2.MultiplyAddAdjacent(weights[kw++], gathered[p].AsSByte());
            }

            sum.CopyTo(filtered[starts[c]..]);
        }
    }

    private static Vector256<byte> Load(SourceRows rows, in ShuffleFilterTable.LanePair loads) =>
        Vector256.Create(Vector128.Create(rows[loads.Low.Plane].Slice(loads.Low.Base, 16)), Vector128.Create(rows[loads.High.Plane].Slice(loads.High.Base, 16)));
}
