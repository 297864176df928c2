using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// Two packed 4:2:2 rows (YUYV or UYVY) to 4:2:0 in one pass: both luma rows, and the rounded average of the two rows'
/// chroma (<see cref="ChromaKernels.Average"/>'s rule) stored straight as NV12's interleaved CbCr row or as I420's Cb and
/// Cr rows. Each packed byte is loaded once and each output byte stored once, with no scratch row in between.
/// </summary>
/// <remarks>
/// Averaging whole packed vectors averages the luma bytes too, which are then dropped: one <c>pavgb</c> per 32 bytes
/// is cheaper than separating chroma first. Not inlined into its caller: the converter's row loop inlines enough
/// already that the JIT would otherwise stop inlining the vector loads and stores inside this kernel.
/// </remarks>
internal static class PackedTo420Kernel
{
    /// <param name="row0">The first packed row, <c>2 * width</c> bytes.</param>
    /// <param name="row1">The second packed row.</param>
    /// <param name="luma0">Luma of the first row, <c>width</c> bytes.</param>
    /// <param name="luma1">Luma of the second row.</param>
    /// <param name="cb">NV12's CbCr row (<c>width</c> bytes) when <paramref name="cr"/> is empty, else I420's Cb row (<c>width / 2</c>).</param>
    /// <param name="cr">Empty, or I420's Cr row (<c>width / 2</c>).</param>
    /// <param name="lumaFirst">YUYV (luma in the even bytes) rather than UYVY.</param>
    /// <param name="level">The widest vectors to use.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Convert(
        ReadOnlySpan<byte> row0, ReadOnlySpan<byte> row1, Span<byte> luma0, Span<byte> luma1, Span<byte> cb, Span<byte> cr,
        bool lumaFirst, SimdLevel level)
    {
        var width = luma0.Length;
        var planar = !cr.IsEmpty;
        InterleaveKernels.CheckLengths(width % 2 == 0 && row0.Length == 2 * width && row1.Length == 2 * width && luma1.Length == width
            && (planar ? cb.Length == width / 2 && cr.Length == width / 2 : cb.Length == width));
        var (y, c) = lumaFirst ? (0, 8) : (8, 0);
        var x = 0;
        if (level >= SimdLevel.Vector256)
        {
            for (; x <= width - 32; x += 32)
            {
                var (a0, a1) = (Vector256.Create(row0[(2 * x)..]), Vector256.Create(row0[((2 * x) + 32)..]));
                var (b0, b1) = (Vector256.Create(row1[(2 * x)..]), Vector256.Create(row1[((2 * x) + 32)..]));
                Vector256.Narrow(a0.AsUInt16() >> y, a1.AsUInt16() >> y).CopyTo(luma0[x..]);
                Vector256.Narrow(b0.AsUInt16() >> y, b1.AsUInt16() >> y).CopyTo(luma1[x..]);
                var chroma = Vector256.Narrow(
                    ChromaKernels.Average(a0, b0).AsUInt16() >> c, ChromaKernels.Average(a1, b1).AsUInt16() >> c);
                if (planar)
                {
                    var pairs = chroma.AsUInt16();
                    Vector128.Narrow(pairs.GetLower(), pairs.GetUpper()).CopyTo(cb[(x / 2)..]);
                    Vector128.Narrow(pairs.GetLower() >> 8, pairs.GetUpper() >> 8).CopyTo(cr[(x / 2)..]);
                }
                else
                {
                    chroma.CopyTo(cb[x..]);
                }
            }
        }

        if (level >= SimdLevel.Vector128)
        {
            // 32 pixels a round as well, so that planar chroma comes out in whole 16-byte vectors.
            for (; x <= width - 32; x += 32)
            {
                var (a0, a1, a2, a3) = (Load(row0, 2 * x), Load(row0, (2 * x) + 16), Load(row0, (2 * x) + 32), Load(row0, (2 * x) + 48));
                var (b0, b1, b2, b3) = (Load(row1, 2 * x), Load(row1, (2 * x) + 16), Load(row1, (2 * x) + 32), Load(row1, (2 * x) + 48));
                Vector128.Narrow(a0 >> y, a1 >> y).CopyTo(luma0[x..]);
                Vector128.Narrow(a2 >> y, a3 >> y).CopyTo(luma0[(x + 16)..]);
                Vector128.Narrow(b0 >> y, b1 >> y).CopyTo(luma1[x..]);
                Vector128.Narrow(b2 >> y, b3 >> y).CopyTo(luma1[(x + 16)..]);
                var low = Vector128.Narrow(Average(a0, b0) >> c, Average(a1, b1) >> c).AsUInt16();
                var high = Vector128.Narrow(Average(a2, b2) >> c, Average(a3, b3) >> c).AsUInt16();
                if (planar)
                {
                    Vector128.Narrow(low, high).CopyTo(cb[(x / 2)..]);
                    Vector128.Narrow(low >> 8, high >> 8).CopyTo(cr[(x / 2)..]);
                }
                else
                {
                    low.AsByte().CopyTo(cb[x..]);
                    high.AsByte().CopyTo(cb[(x + 16)..]);
                }
            }
        }

        var (ly, lc) = lumaFirst ? (0, 1) : (1, 0);
        for (; x < width; x += 2)
        {
            luma0[x] = row0[(2 * x) + ly];
            luma0[x + 1] = row0[(2 * x) + ly + 2];
            luma1[x] = row1[(2 * x) + ly];
            luma1[x + 1] = row1[(2 * x) + ly + 2];
            var blue = (byte)((row0[(2 * x) + lc] + row1[(2 * x) + lc] + 1) >> 1);
            var red = (byte)((row0[(2 * x) + lc + 2] + row1[(2 * x) + lc + 2] + 1) >> 1);
            if (planar)
            {
                (cb[x / 2], cr[x / 2]) = (blue, red);
            }
            else
            {
                (cb[x], cb[x + 1]) = (blue, red);
            }
        }
    }

    private static Vector128<ushort> Load(ReadOnlySpan<byte> row, int at) => Vector128.Create(row[at..]).AsUInt16();

    private static Vector128<ushort> Average(Vector128<ushort> a, Vector128<ushort> b) => ChromaKernels.Average(a.AsByte(), b.AsByte()).AsUInt16();
}
