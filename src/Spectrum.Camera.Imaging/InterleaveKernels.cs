using System.Runtime.Intrinsics;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// Byte (de)interleaving row kernels: the moves between packed 4:2:2 rows, NV12's CbCr rows and separate planes.
/// </summary>
/// <remarks>
/// All vectors are loaded from and stored to spans with bounds checks (<c>Vector256.Create(span)</c>,
/// <c>CopyTo(span)</c>), never through raw references: an over-read here would copy host memory into a guest's
/// frame, which is worth far more than the few percent the checks cost in these memory-bound loops. The
/// cross-platform Widen/Narrow operations compile to single shuffles or packs on x86 and Arm, so no ISA-specific
/// path pays here.
/// </remarks>
internal static class InterleaveKernels
{
    /// <summary><c>dst[2i] = a[i]; dst[2i + 1] = b[i]</c> for every i of <paramref name="a"/>.</summary>
    public static void Zip(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> dst, SimdLevel level)
    {
        var n = a.Length;
        CheckLengths(b.Length == n && dst.Length == 2 * n);
        var i = 0;
        if (level >= SimdLevel.Vector256)
        {
            for (; i <= n - 32; i += 32)
            {
                var va = Vector256.Create(a[i..]);
                var vb = Vector256.Create(b[i..]);
                // Little-endian 16-bit lanes a | b << 8 are the byte pairs a, b in order.
                (Vector256.WidenLower(va) | (Vector256.WidenLower(vb) << 8)).AsByte().CopyTo(dst[(2 * i)..]);
                (Vector256.WidenUpper(va) | (Vector256.WidenUpper(vb) << 8)).AsByte().CopyTo(dst[((2 * i) + 32)..]);
            }
        }

        if (level >= SimdLevel.Vector128)
        {
            for (; i <= n - 16; i += 16)
            {
                var va = Vector128.Create(a[i..]);
                var vb = Vector128.Create(b[i..]);
                (Vector128.WidenLower(va) | (Vector128.WidenLower(vb) << 8)).AsByte().CopyTo(dst[(2 * i)..]);
                (Vector128.WidenUpper(va) | (Vector128.WidenUpper(vb) << 8)).AsByte().CopyTo(dst[((2 * i) + 16)..]);
            }
        }

        for (; i < n; i++)
        {
            dst[2 * i] = a[i];
            dst[(2 * i) + 1] = b[i];
        }
    }

    /// <summary><c>even[i] = src[2i]; odd[i] = src[2i + 1]</c> for every i of <paramref name="even"/>.</summary>
    public static void Split(ReadOnlySpan<byte> src, Span<byte> even, Span<byte> odd, SimdLevel level)
    {
        var n = even.Length;
        CheckLengths(odd.Length == n && src.Length == 2 * n);
        var i = 0;
        if (level >= SimdLevel.Vector512)
        {
            for (; i <= n - 64; i += 64)
            {
                var lo = Vector512.Create(src[(2 * i)..]).AsUInt16();
                var hi = Vector512.Create(src[((2 * i) + 64)..]).AsUInt16();
                Vector512.Narrow(lo, hi).CopyTo(even[i..]);
                Vector512.Narrow(lo >> 8, hi >> 8).CopyTo(odd[i..]);
            }
        }

        if (level >= SimdLevel.Vector256)
        {
            for (; i <= n - 32; i += 32)
            {
                var lo = Vector256.Create(src[(2 * i)..]).AsUInt16();
                var hi = Vector256.Create(src[((2 * i) + 32)..]).AsUInt16();
                // Narrow keeps each lane's low byte: the even bytes; shifting first keeps the odd ones.
                Vector256.Narrow(lo, hi).CopyTo(even[i..]);
                Vector256.Narrow(lo >> 8, hi >> 8).CopyTo(odd[i..]);
            }
        }

        if (level >= SimdLevel.Vector128)
        {
            for (; i <= n - 16; i += 16)
            {
                var lo = Vector128.Create(src[(2 * i)..]).AsUInt16();
                var hi = Vector128.Create(src[((2 * i) + 16)..]).AsUInt16();
                Vector128.Narrow(lo, hi).CopyTo(even[i..]);
                Vector128.Narrow(lo >> 8, hi >> 8).CopyTo(odd[i..]);
            }
        }

        for (; i < n; i++)
        {
            even[i] = src[2 * i];
            odd[i] = src[(2 * i) + 1];
        }
    }

    /// <summary>Swaps the bytes of every pair (UYVY to YUYV and back): <c>dst[2i] = src[2i + 1]; dst[2i + 1] = src[2i]</c>.</summary>
    public static void SwapPairs(ReadOnlySpan<byte> src, Span<byte> dst, SimdLevel level)
    {
        var n = src.Length;
        CheckLengths(dst.Length == n && n % 2 == 0);
        var i = 0;
        if (level >= SimdLevel.Vector256)
        {
            for (; i <= n - 32; i += 32)
            {
                var v = Vector256.Create(src[i..]).AsUInt16();
                ((v << 8) | (v >> 8)).AsByte().CopyTo(dst[i..]);
            }
        }

        if (level >= SimdLevel.Vector128)
        {
            for (; i <= n - 16; i += 16)
            {
                var v = Vector128.Create(src[i..]).AsUInt16();
                ((v << 8) | (v >> 8)).AsByte().CopyTo(dst[i..]);
            }
        }

        for (; i < n; i += 2)
        {
            (dst[i], dst[i + 1]) = (src[i + 1], src[i]);
        }
    }

    /// <summary>Row kernels are internal: a length mismatch is a bug in the caller's plan, never bad input.</summary>
    internal static void CheckLengths(bool ok)
    {
        if (!ok)
        {
            throw new ArgumentException("Row kernel spans have inconsistent lengths.");
        }
    }
}
