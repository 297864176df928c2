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
    public void Mismatched_spans_are_refused_rather_than_read_past()
    {
        Assert.That(() => InterleaveKernels.Zip(new byte[4], new byte[3], new byte[8], SimdLevel.Scalar), Throws.ArgumentException);
        Assert.That(() => InterleaveKernels.Split(new byte[7], new byte[4], new byte[4], SimdLevel.Scalar), Throws.ArgumentException);
        Assert.That(() => ChromaKernels.Average(new byte[64], new byte[64], new byte[63], SimdLevel.Vector256), Throws.ArgumentException);
        Assert.That(() => VerticalFilterKernel.Set(new byte[32], 257, new ushort[32], SimdLevel.Vector256), Throws.ArgumentException);
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

    private static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
