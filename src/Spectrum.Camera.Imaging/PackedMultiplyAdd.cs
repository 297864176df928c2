using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// The four x86 instructions the scaler's kernels are built on, at 128 bits, each with a portable form for machines
/// without them: byte shuffle (<c>pshufb</c>), unsigned-by-signed byte multiply-add of neighbours (<c>pmaddubsw</c>),
/// 16-bit multiply-add of neighbours (<c>pmaddwd</c>) and 16-bit interleave (<c>punpcklwd</c>/<c>punpckhwd</c>).
/// </summary>
/// <remarks>
/// <para>The portable forms agree with the instructions for every input the kernels give them, which a test checks
/// on random vectors: shuffle indices are 0-15 or 0x80 (pshufb zeroes a lane whose index has bit 7 set, the portable
/// shuffle one whose index is 16 or more), and the byte multiply-add never saturates (its weights are at most 255 and
/// each pair of them sums to at most 256, so a pair's sum lies in [-32768, 32512]).</para>
/// <para>The 256-bit kernels call <see cref="Avx2"/> directly; a 256-bit level is only ever chosen where AVX2 is
/// present (<see cref="SimdCapabilities"/>).</para>
/// </remarks>
internal static class PackedMultiplyAdd
{
    /// <summary><c>pshufb</c>: lane i is <c>value[index[i]]</c>, or 0 where <c>index[i]</c> is 0x80.</summary>
    public static Vector128<byte> Shuffle(Vector128<byte> value, Vector128<byte> index) =>
        Ssse3.IsSupported ? Ssse3.Shuffle(value, index) : Vector128.Shuffle(value, index);

    /// <summary><c>pmaddubsw</c>: lane i is <c>weight[2i] * sample[2i] + weight[2i+1] * sample[2i+1]</c>.</summary>
    public static Vector128<short> Bytes(Vector128<byte> weight, Vector128<sbyte> sample) =>
        Ssse3.IsSupported ? Ssse3.MultiplyAddAdjacent(weight, sample) : PortableBytes(weight, sample);

    /// <summary><c>pmaddwd</c>: lane i is <c>a[2i] * b[2i] + a[2i+1] * b[2i+1]</c> in 32 bits.</summary>
    public static Vector128<int> Shorts(Vector128<short> a, Vector128<short> b) =>
        Sse2.IsSupported ? Sse2.MultiplyAddAdjacent(a, b) : PortableShorts(a, b);

    /// <summary><c>punpcklwd</c>: a0 b0 a1 b1 a2 b2 a3 b3.</summary>
    public static Vector128<short> InterleaveLower(Vector128<short> a, Vector128<short> b) =>
        Sse2.IsSupported ? Sse2.UnpackLow(a, b) : PortableInterleave(a, b, 0);

    /// <summary><c>punpckhwd</c>: a4 b4 a5 b5 a6 b6 a7 b7.</summary>
    public static Vector128<short> InterleaveUpper(Vector128<short> a, Vector128<short> b) =>
        Sse2.IsSupported ? Sse2.UnpackHigh(a, b) : PortableInterleave(a, b, 4);

    /// <summary>
    /// 32-bit lanes that each hold a value in 0-255 to bytes, in order (<c>packssdw</c> then <c>packuswb</c>). The
    /// portable form truncates, which gives the same bytes for values in that range.
    /// </summary>
    public static Vector128<byte> NarrowToBytes(Vector128<int> a, Vector128<int> b, Vector128<int> c, Vector128<int> d)
    {
        if (Sse2.IsSupported)
        {
            return Sse2.PackUnsignedSaturate(Sse2.PackSignedSaturate(a, b), Sse2.PackSignedSaturate(c, d));
        }

        return Vector128.Narrow(Vector128.Narrow(a, b), Vector128.Narrow(c, d)).AsByte();
    }

    internal static Vector128<short> PortableBytes(Vector128<byte> weight, Vector128<sbyte> sample)
    {
        // Products of a byte and a signed byte fit 16 bits; the even and odd products are then added.
        var (wl, wh) = Vector128.Widen(weight);
        var (sl, sh) = Vector128.Widen(sample);
        var low = (wl.AsInt16() * sl).AsInt32();
        var high = (wh.AsInt16() * sh).AsInt32();
        var sumLow = ((low << 16) >> 16) + (low >> 16);
        var sumHigh = ((high << 16) >> 16) + (high >> 16);
        return Vector128.Narrow(sumLow, sumHigh);
    }

    internal static Vector128<int> PortableShorts(Vector128<short> a, Vector128<short> b)
    {
        var (al, ah) = Vector128.Widen(a);
        var (bl, bh) = Vector128.Widen(b);
        var low = al * bl;
        var high = ah * bh;
        // Each 32-bit result adds products 2i and 2i+1, which Widen put in neighbouring lanes of one half.
        return Vector128.Create(
            low[0] + low[1], low[2] + low[3], high[0] + high[1], high[2] + high[3]);
    }

    internal static Vector128<short> PortableInterleave(Vector128<short> a, Vector128<short> b, int first) =>
        Vector128.Create(a[first], b[first], a[first + 1], b[first + 1], a[first + 2], b[first + 2], a[first + 3], b[first + 3]);
}
