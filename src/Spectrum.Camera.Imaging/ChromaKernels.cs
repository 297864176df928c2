using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// The two vertical chroma rules between 4:2:2 and 4:2:0, as row kernels. Both are exactly what the general
/// scaler's filters give at ratio 2 and 1/2 (<see cref="FilterAxis"/>), so unscaled and scaled conversions agree.
/// </summary>
internal static class ChromaKernels
{
    /// <summary>
    /// 4:2:2 to 4:2:0: the rounded average of the two rows, <c>(a + b + 1) >> 1</c>, as libyuv and libswscale
    /// (area and unscaled paths) compute it. Chroma samples sit between the two luma rows they cover, so the
    /// average is the correctly sited value.
    /// </summary>
    public static void Average(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> dst, SimdLevel level)
    {
        var n = a.Length;
        InterleaveKernels.CheckLengths(b.Length == n && dst.Length == n);
        var i = 0;
        if (level >= SimdLevel.Vector256)
        {
            for (; i <= n - 32; i += 32)
            {
                Average(Vector256.Create(a[i..]), Vector256.Create(b[i..])).CopyTo(dst[i..]);
            }
        }

        if (level >= SimdLevel.Vector128)
        {
            for (; i <= n - 16; i += 16)
            {
                Average(Vector128.Create(a[i..]), Vector128.Create(b[i..])).CopyTo(dst[i..]);
            }
        }

        for (; i < n; i++)
        {
            dst[i] = (byte)((a[i] + b[i] + 1) >> 1);
        }
    }

    /// <summary>
    /// 4:2:0 to 4:2:2: linear interpolation between the chroma row covering a luma row (<paramref name="near"/>)
    /// and its neighbour on that row's side (<paramref name="far"/>): <c>(3 near + far + 2) >> 2</c>. With chroma
    /// sited midway between two luma rows, a luma row is a quarter of a chroma row from the near sample and three
    /// quarters from the far one. Smoother than repeating rows (libyuv's I420ToYUY2), which doubles chroma edges.
    /// </summary>
    public static void Interpolate(ReadOnlySpan<byte> near, ReadOnlySpan<byte> far, Span<byte> dst, SimdLevel level)
    {
        var n = near.Length;
        InterleaveKernels.CheckLengths(far.Length == n && dst.Length == n);
        var i = 0;
        if (level >= SimdLevel.Vector256)
        {
            var two = Vector256.Create((ushort)2);
            for (; i <= n - 32; i += 32)
            {
                var (nl, nh) = Vector256.Widen(Vector256.Create(near[i..]));
                var (fl, fh) = Vector256.Widen(Vector256.Create(far[i..]));
                var lo = ((nl * 3) + fl + two) >> 2;
                var hi = ((nh * 3) + fh + two) >> 2;
                Vector256.Narrow(lo, hi).CopyTo(dst[i..]);
            }
        }

        if (level >= SimdLevel.Vector128)
        {
            var two = Vector128.Create((ushort)2);
            for (; i <= n - 16; i += 16)
            {
                var (nl, nh) = Vector128.Widen(Vector128.Create(near[i..]));
                var (fl, fh) = Vector128.Widen(Vector128.Create(far[i..]));
                var lo = ((nl * 3) + fl + two) >> 2;
                var hi = ((nh * 3) + fh + two) >> 2;
                Vector128.Narrow(lo, hi).CopyTo(dst[i..]);
            }
        }

        for (; i < n; i++)
        {
            dst[i] = (byte)(((3 * near[i]) + far[i] + 2) >> 2);
        }
    }

    // pavgb is one instruction on x86 (and urhadd on Arm); the portable form needs three. This is the one place an
    // ISA-specific path pays: averaging is all the 4:2:2 to 4:2:0 conversions do besides moving bytes.
    internal static Vector256<byte> Average(Vector256<byte> a, Vector256<byte> b) =>
        Avx2.IsSupported ? Avx2.Average(a, b) : PortableAverage(a, b);

    internal static Vector128<byte> Average(Vector128<byte> a, Vector128<byte> b) =>
        Sse2.IsSupported ? Sse2.Average(a, b)
        : AdvSimd.IsSupported ? AdvSimd.FusedAddRoundedHalving(a, b)
        : PortableAverage(a, b);

    /// <summary>(a + b + 1) >> 1 without widening: a | b rounds the shared bits up, a ^ b halves the rest.</summary>
    internal static Vector256<byte> PortableAverage(Vector256<byte> a, Vector256<byte> b) => (a | b) - ((a ^ b) >> 1);

    /// <inheritdoc cref="PortableAverage(Vector256{byte}, Vector256{byte})" />
    internal static Vector128<byte> PortableAverage(Vector128<byte> a, Vector128<byte> b) => (a | b) - ((a ^ b) >> 1);
}
