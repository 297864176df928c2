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
                ApplyOnePlane<ShuffleLanes256, Vector256<byte>, Vector256<short>, ShuffleFilterTable.LanePair>(
                    table, table.Loads256, table.Masks256, table.Weights256, rows[table.SlotPlane[0]], filtered);
                break;
            case SimdLevel.Vector256:
                ApplyPlanes<ShuffleLanes256, Vector256<byte>, Vector256<short>, ShuffleFilterTable.LanePair>(
                    table, table.Loads256, table.Masks256, table.Weights256, rows, filtered);
                break;
            case SimdLevel.Vector128 when table.SinglePlane && table.SharedLoads:
                ApplyOnePlane<ShuffleLanes128, Vector128<byte>, Vector128<short>, ShuffleFilterTable.Load>(
                    table, table.Loads128, table.Masks128, table.Weights128, rows[table.SlotPlane[0]], filtered);
                break;
            case SimdLevel.Vector128:
                ApplyPlanes<ShuffleLanes128, Vector128<byte>, Vector128<short>, ShuffleFilterTable.Load>(
                    table, table.Loads128, table.Masks128, table.Weights128, rows, filtered);
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

    // One plane: the common shapes (one or two tap pairs, one or two loads per lane) get loops without inner loops,
    // which the JIT keeps in registers.
    private static void ApplyOnePlane<TLanes, TBytes, TSums, TLoad>(
        ShuffleFilterTable table, TLoad[] loads, TBytes[] masks, TBytes[] weights, ReadOnlySpan<byte> row, Span<short> filtered)
        where TLanes : IShuffleLanes<TBytes, TSums, TLoad>
        where TBytes : unmanaged
        where TSums : unmanaged
    {
        var starts = table.ChunkStarts;
        switch ((table.Pairs, table.Windows))
        {
            case (1, 1):
                for (var c = 0; c < starts.Length; c++)
                {
                    var gathered = TLanes.Shuffle(TLanes.LoadFlipped(row, loads[c]), masks[c]);
                    TLanes.Store(TLanes.MultiplyAdd(weights[c], gathered), filtered[starts[c]..]);
                }

                break;
            case (1, 2):
                for (var c = 0; c < starts.Length; c++)
                {
                    var gathered = TLanes.Or(
                        TLanes.Shuffle(TLanes.LoadFlipped(row, loads[2 * c]), masks[2 * c]),
                        TLanes.Shuffle(TLanes.LoadFlipped(row, loads[(2 * c) + 1]), masks[(2 * c) + 1]));
                    TLanes.Store(TLanes.MultiplyAdd(weights[c], gathered), filtered[starts[c]..]);
                }

                break;
            case (2, 1):
                for (var c = 0; c < starts.Length; c++)
                {
                    var bytes = TLanes.LoadFlipped(row, loads[c]);
                    var sum = TLanes.Add(
                        TLanes.MultiplyAdd(weights[2 * c], TLanes.Shuffle(bytes, masks[2 * c])),
                        TLanes.MultiplyAdd(weights[(2 * c) + 1], TLanes.Shuffle(bytes, masks[(2 * c) + 1])));
                    TLanes.Store(sum, filtered[starts[c]..]);
                }

                break;
            case (2, 2):
                for (var c = 0; c < starts.Length; c++)
                {
                    var (a, b) = (TLanes.LoadFlipped(row, loads[2 * c]), TLanes.LoadFlipped(row, loads[(2 * c) + 1]));
                    var m = 4 * c;
                    var pair0 = TLanes.Or(TLanes.Shuffle(a, masks[m]), TLanes.Shuffle(b, masks[m + 2]));
                    var pair1 = TLanes.Or(TLanes.Shuffle(a, masks[m + 1]), TLanes.Shuffle(b, masks[m + 3]));
                    var sum = TLanes.Add(TLanes.MultiplyAdd(weights[2 * c], pair0), TLanes.MultiplyAdd(weights[(2 * c) + 1], pair1));
                    TLanes.Store(sum, filtered[starts[c]..]);
                }

                break;
            default:
                ApplyPlanes<TLanes, TBytes, TSums, TLoad>(table, loads, masks, weights, new SourceRows(row, row, row), filtered);
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

    // Any number of planes, tap pairs and loads per lane.
    private static void ApplyPlanes<TLanes, TBytes, TSums, TLoad>(
        ShuffleFilterTable table, TLoad[] loads, TBytes[] masks, TBytes[] weights, SourceRows rows, Span<short> filtered)
        where TLanes : IShuffleLanes<TBytes, TSums, TLoad>
        where TBytes : unmanaged
        where TSums : unmanaged
    {
        var starts = table.ChunkStarts;
        var (pairs, windows) = (table.Pairs, table.Windows);
        Span<TBytes> gathered = stackalloc TBytes[pairs];
        int kl = 0, km = 0, kw = 0;
        for (var c = 0; c < starts.Length; c++)
        {
            gathered.Clear();
            if (table.SharedLoads)
            {
                for (var w = 0; w < windows; w++)
                {
                    var bytes = TLanes.LoadFlipped(rows, loads[kl++]);
                    for (var p = 0; p < pairs; p++)
                    {
                        gathered[p] = TLanes.Or(gathered[p], TLanes.Shuffle(bytes, masks[km++]));
                    }
                }
            }
            else
            {
                for (var p = 0; p < pairs; p++)
                {
                    for (var w = 0; w < windows; w++)
                    {
                        gathered[p] = TLanes.Or(gathered[p], TLanes.Shuffle(TLanes.LoadFlipped(rows, loads[kl++]), masks[km++]));
                    }
                }
            }

            TSums sum = default;
            for (var p = 0; p < pairs; p++)
            {
                sum = TLanes.Add(sum, TLanes.MultiplyAdd(weights[kw++], gathered[p]));
            }

            TLanes.Store(sum, filtered[starts[c]..]);
        }
    }
}
