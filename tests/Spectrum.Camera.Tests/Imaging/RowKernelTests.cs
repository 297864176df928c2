using System.Runtime.Intrinsics;
using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>
/// Each SIMD row kernel at every level against its one-line scalar definition, for every length from 0 to 100, so
/// every mix of 256-bit, 128-bit and scalar tail iterations is covered.
/// </summary>
public class RowKernelTests
{
    private const int MaxLength = 100;

    public static IEnumerable<object> Levels => SimdCapabilities.Available.Cast<object>();

    [Test]
    public void Zip_interleaves([ValueSource(nameof(Levels))] object level) =>
        ForEachLength((n, random) =>
        {
            var (a, b) = (Bytes(random, n), Bytes(random, n));
            var dst = new byte[2 * n];
            InterleaveKernels.Zip(a, b, dst, (SimdLevel)level);
            return (dst, Enumerable.Range(0, 2 * n).Select(i => i % 2 == 0 ? a[i / 2] : b[i / 2]).ToArray());
        });

    [Test]
    public void Split_deinterleaves([ValueSource(nameof(Levels))] object level) =>
        ForEachLength((n, random) =>
        {
            var src = Bytes(random, 2 * n);
            var (even, odd) = (new byte[n], new byte[n]);
            InterleaveKernels.Split(src, even, odd, (SimdLevel)level);
            return ([.. even, .. odd], [.. src.Where((_, i) => i % 2 == 0), .. src.Where((_, i) => i % 2 == 1)]);
        });

    [Test]
    public void SwapPairs_swaps_the_bytes_of_each_pair([ValueSource(nameof(Levels))] object level) =>
        ForEachLength((n, random) =>
        {
            var src = Bytes(random, 2 * n);
            var dst = new byte[2 * n];
            InterleaveKernels.SwapPairs(src, dst, (SimdLevel)level);
            return (dst, Enumerable.Range(0, 2 * n).Select(i => src[i ^ 1]).ToArray());
        });

    [Test]
    public void Average_rounds_half_up([ValueSource(nameof(Levels))] object level) =>
        ForEachLength((n, random) =>
        {
            var (a, b) = (Bytes(random, n), Bytes(random, n));
            var dst = new byte[n];
            ChromaKernels.Average(a, b, dst, (SimdLevel)level);
            return (dst, a.Zip(b, (x, y) => (byte)((x + y + 1) >> 1)).ToArray());
        });

    [Test]
    public void Interpolate_weights_three_quarters_near_one_quarter_far([ValueSource(nameof(Levels))] object level) =>
        ForEachLength((n, random) =>
        {
            var (near, far) = (Bytes(random, n), Bytes(random, n));
            var dst = new byte[n];
            ChromaKernels.Interpolate(near, far, dst, (SimdLevel)level);
            return (dst, near.Zip(far, (x, y) => (byte)(((3 * x) + y + 2) >> 2)).ToArray());
        });

    [Test]
    public void Range_compression_matches_its_tables([ValueSource(nameof(Levels))] object level) =>
        ForEachLength((n, random) =>
        {
            var src = Bytes(random, n);
            var (luma, chroma) = (new byte[n], new byte[n]);
            RangeCompression.CompressLuma(src, luma, (SimdLevel)level);
            RangeCompression.CompressChroma(src, chroma, (SimdLevel)level);
            return ([.. luma, .. chroma], [.. src.Select(v => RangeCompression.Luma(v)), .. src.Select(v => RangeCompression.Chroma(v))]);
        });

    [Test]
    public void Vertical_filter_sets_and_accumulates_16_bit_sums([ValueSource(nameof(Levels))] object level) =>
        ForEachLength((n, random) =>
        {
            var (a, b) = (Bytes(random, n), Bytes(random, n));
            var acc = new ushort[n];
            VerticalFilterKernel.Set(a, 171, acc, (SimdLevel)level);
            VerticalFilterKernel.Add(b, 85, acc, (SimdLevel)level);
            var expected = a.Zip(b, (x, y) => (ushort)((x * 171) + (y * 85))).ToArray();
            return (acc.SelectMany(BitConverter.GetBytes).ToArray(), expected.SelectMany(BitConverter.GetBytes).ToArray());
        });

    [Test]
    public void Kernels_work_in_place_where_the_pipeline_uses_them_so([ValueSource(nameof(Levels))] object level) =>
        ForEachLength((n, random) =>
        {
            var (a, b) = (Bytes(random, n), Bytes(random, n));
            var expected = a.Zip(b, (x, y) => (byte)((x + y + 1) >> 1)).ToArray();
            ChromaKernels.Average(a, b, a, (SimdLevel)level);
            return (a, expected);
        });

    [Test]
    public void The_portable_average_is_exact_for_every_pair_of_bytes()
    {
        // The path a machine without SSE2 or AdvSimd takes; x86 test machines only reach it through this test.
        var a = new byte[16];
        var b = new byte[16];
        for (var x = 0; x < 256; x++)
        {
            for (var y = 0; y < 256; y += 16)
            {
                for (var i = 0; i < 16; i++)
                {
                    (a[i], b[i]) = ((byte)x, (byte)(y + i));
                }

                var average = ChromaKernels.PortableAverage(Vector128.Create(a), Vector128.Create(b));
                var wide = ChromaKernels.PortableAverage(Vector256.Create(Vector128.Create(a), Vector128.Create(b)), Vector256.Create(Vector128.Create(b), Vector128.Create(a)));
                for (var i = 0; i < 16; i++)
                {
                    var expected = (byte)((x + y + i + 1) >> 1);
                    Assert.That(average[i], Is.EqualTo(expected), $"{x} {y + i}");
                    Assert.That(wide[i], Is.EqualTo(expected));
                    Assert.That(wide[16 + i], Is.EqualTo(expected));
                }
            }
        }
    }

    [Test]
    public void Packed_rows_go_to_420_in_one_pass([ValueSource(nameof(Levels))] object level, [Values] bool lumaFirst, [Values] bool planar) =>
        ForEachLength((n, random) =>
        {
            // n pixel pairs: two packed rows of 4n bytes, luma rows of 2n, chroma of 2n interleaved or n + n planar.
            var (row0, row1) = (Bytes(random, 4 * n), Bytes(random, 4 * n));
            var (luma0, luma1) = (new byte[2 * n], new byte[2 * n]);
            var (cb, cr) = planar ? (new byte[n], new byte[n]) : (new byte[2 * n], Array.Empty<byte>());
            PackedTo420Kernel.Convert(row0, row1, luma0, luma1, cb, cr, lumaFirst, (SimdLevel)level);
            var (y, c) = lumaFirst ? (0, 1) : (1, 0);
            byte Average(int i) => (byte)((row0[i] + row1[i] + 1) >> 1);
            var chroma = Enumerable.Range(0, 2 * n).Select(i => Average((2 * i) + c)).ToArray();
            return (
                [.. luma0, .. luma1, .. cb, .. cr],
                [
                    .. row0.Where((_, i) => i % 2 == y), .. row1.Where((_, i) => i % 2 == y),
                    .. planar ? [.. chroma.Where((_, i) => i % 2 == 0), .. chroma.Where((_, i) => i % 2 == 1)] : chroma,
                ]);
        });

    [Test]
    public void Row_blend_stores_the_rounded_weighted_sum_plainly_split_and_zipped([ValueSource(nameof(Levels))] object level)
    {
        // Filtered rows hold sum(w * s) - 32768 with weights summing to 256: values in [-32768, 32512]. One to five
        // rows (an odd count leaves a spare row of weight 0), random weights that sum to 256.
        var random = new Random(2);
        for (var taps = 1; taps <= 5; taps++)
        {
            ForEachLength((n, _) =>
            {
                var rows = Enumerable.Range(0, taps + 1).Select(_ => Enumerable.Range(0, (4 * n) + 3)
                    .Select(_ => (short)random.Next(-32768, 32513)).ToArray()).ToArray();
                var weights = Weights(random, taps);
                var packed = new int[3];
                byte Expected(int at) => (byte)((weights.Select((w, t) => w * (rows[t][at] + 32768)).Sum() + (1 << 15)) >> 16);

                var plain = new byte[n];
                RowBlendKernel.Store(rows, weights, taps, 3, plain, packed, (SimdLevel)level);
                var (even, odd) = (new byte[n], new byte[n]);
                RowBlendKernel.StoreSplit(rows, weights, taps, 1, even, odd, packed, (SimdLevel)level);
                var zipped = new byte[2 * n];
                RowBlendKernel.StoreZip(rows, weights, taps, 2, (2 * n) + 3, zipped, packed, (SimdLevel)level);
                return (
                    [.. plain, .. even, .. odd, .. zipped],
                    [
                        .. Enumerable.Range(0, n).Select(i => Expected(3 + i)),
                        .. Enumerable.Range(0, n).Select(i => Expected(1 + (2 * i))),
                        .. Enumerable.Range(0, n).Select(i => Expected(2 + (2 * i))),
                        .. Enumerable.Range(0, 2 * n).Select(i => Expected(i % 2 == 0 ? 2 + (i / 2) : (2 * n) + 3 + (i / 2))),
                    ]);
            });
        }
    }

    [Test]
    public void The_portable_forms_of_the_scaler_instructions_agree_with_their_definitions()
    {
        // The paths a machine without SSSE3 takes (x86 test machines reach them only through this test), on the
        // inputs the kernels give them: shuffle indices 0-15 or 0x80, byte weights whose pairs sum to at most 256.
        var random = new Random(3);
        for (var round = 0; round < 2000; round++)
        {
            var bytes = Bytes(random, 16);
            var indices = Enumerable.Range(0, 16).Select(_ => random.Next(4) == 0 ? (byte)0x80 : (byte)random.Next(16)).ToArray();
            var weights = Enumerable.Range(0, 8).SelectMany(_ =>
            {
                var first = random.Next(256);
                return new[] { (byte)first, (byte)random.Next(Math.Min(255, 256 - first) + 1) };
            }).ToArray();
            var signed = bytes.Select(b => (sbyte)b).ToArray();
            var a = Enumerable.Range(0, 8).Select(_ => (short)random.Next(-32768, 32768)).ToArray();
            var b = Enumerable.Range(0, 8).Select(_ => (short)random.Next(0, 257)).ToArray();

            var shuffled = PackedMultiplyAdd.Shuffle(Vector128.Create(bytes), Vector128.Create(indices));
            Assert.That(Enumerable.Range(0, 16).Select(i => shuffled[i]), Is.EqualTo(indices.Select(i => i == 0x80 ? (byte)0 : bytes[i])));
            var madd = PackedMultiplyAdd.PortableBytes(Vector128.Create(weights), Vector128.Create(signed));
            Assert.That(Enumerable.Range(0, 8).Select(i => madd[i]),
                Is.EqualTo(Enumerable.Range(0, 8).Select(i => (short)((weights[2 * i] * signed[2 * i]) + (weights[(2 * i) + 1] * signed[(2 * i) + 1])))));
            var wide = PackedMultiplyAdd.PortableShorts(Vector128.Create(a), Vector128.Create(b));
            Assert.That(Enumerable.Range(0, 4).Select(i => wide[i]),
                Is.EqualTo(Enumerable.Range(0, 4).Select(i => (a[2 * i] * b[2 * i]) + (a[(2 * i) + 1] * b[(2 * i) + 1]))));
            var (low, high) = (PackedMultiplyAdd.PortableInterleave(Vector128.Create(a), Vector128.Create(b), 0),
                PackedMultiplyAdd.PortableInterleave(Vector128.Create(a), Vector128.Create(b), 4));
            Assert.That(Enumerable.Range(0, 8).Select(i => low[i]), Is.EqualTo(Enumerable.Range(0, 8).Select(i => i % 2 == 0 ? a[i / 2] : b[i / 2])));
            Assert.That(Enumerable.Range(0, 8).Select(i => high[i]), Is.EqualTo(Enumerable.Range(0, 8).Select(i => i % 2 == 0 ? a[4 + (i / 2)] : b[4 + (i / 2)])));

            // Where the machine has the instructions, the dispatching forms are them: the same results.
            var dispatched = PackedMultiplyAdd.Bytes(Vector128.Create(weights), Vector128.Create(signed));
            Assert.That(dispatched, Is.EqualTo(madd));
            Assert.That(PackedMultiplyAdd.Shorts(Vector128.Create(a), Vector128.Create(b)), Is.EqualTo(wide));
        }
    }

    [Test]
    public void Mismatched_spans_are_refused_rather_than_read_past()
    {
        Assert.That(() => InterleaveKernels.Zip(new byte[4], new byte[3], new byte[8], SimdLevel.Scalar), Throws.ArgumentException);
        Assert.That(() => InterleaveKernels.Split(new byte[7], new byte[4], new byte[4], SimdLevel.Scalar), Throws.ArgumentException);
        Assert.That(() => ChromaKernels.Average(new byte[64], new byte[64], new byte[63], SimdLevel.Vector256), Throws.ArgumentException);
        Assert.That(() => VerticalFilterKernel.Set(new byte[32], 257, new ushort[32], SimdLevel.Vector256), Throws.ArgumentException);
        Assert.That(() => RowBlendKernel.StoreSplit([new short[64], new short[64]], [256], 1, 0, new byte[32], new byte[31], new int[1], SimdLevel.Vector256), Throws.ArgumentException);
        Assert.That(() => RowBlendKernel.Store([new short[64]], [128, 128], 2, 0, new byte[32], new int[1], SimdLevel.Vector256), Throws.ArgumentException);
    }

    private static void ForEachLength(Func<int, Random, (byte[] Actual, byte[] Expected)> run)
    {
        var random = new Random(1);
        for (var n = 0; n <= MaxLength; n++)
        {
            var (actual, expected) = run(n, random);
            Assert.That(actual, Is.EqualTo(expected), $"length {n}");
        }
    }

    // `taps` non-negative weights summing to 256.
    private static int[] Weights(Random random, int taps)
    {
        var cuts = Enumerable.Range(0, taps - 1).Select(_ => random.Next(FilterAxis.One + 1)).Order().Append(FilterAxis.One).ToArray();
        return cuts.Select((cut, i) => cut - (i == 0 ? 0 : cuts[i - 1])).ToArray();
    }

    private static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
