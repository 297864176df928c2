using System.Runtime.Intrinsics;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// Full range (JFIF JPEG: Y, Cb, Cr all 0-255) to BT.601 limited range (Y 16-235, Cb/Cr 16-240), which V4L2
/// assumes for YUV formats and the guest is told. Without it the guest would read an MJPEG camera's full-range
/// values as limited range: crushed shadows, clipped highlights and oversaturated colour.
/// </summary>
/// <remarks>
/// <para>Luma <c>y' = 16 + round(219 y / 255)</c> = <c>16 + (219 y + 127) / 255</c>; chroma
/// <c>c' = 128 + round(224 (c - 128) / 255)</c> = <c>(224 c + 4095) / 255</c> (integer division; the two forms
/// agree for every byte, which a test checks).</para>
/// <para>The SIMD kernels divide by 255 in 16-bit lanes with <c>x / 255 = (x + 1 + (x >> 8)) >> 8</c>, exact for
/// 0 &lt;= x &lt; 65025; both numerators stay below 61216.</para>
/// </remarks>
internal static class RangeCompression
{
    private const int LumaScale = 219;
    private const int LumaBias = 127;
    private const int LumaOffset = 16;
    private const int ChromaScale = 224;
    private const int ChromaBias = 4095;

    /// <summary>The luma map as a table, for the scalar paths.</summary>
    public static ReadOnlySpan<byte> LumaTable => LumaMap;

    /// <summary>The chroma map as a table, for the scalar paths.</summary>
    public static ReadOnlySpan<byte> ChromaTable => ChromaMap;

    /// <summary>The identity, for limited-range sources, so the scaler's store is one table lookup either way.</summary>
    public static ReadOnlySpan<byte> IdentityTable => IdentityMap;

    private static byte[] LumaMap { get; } = Enumerable.Range(0, 256).Select(v => Luma((byte)v)).ToArray();

    private static byte[] ChromaMap { get; } = Enumerable.Range(0, 256).Select(v => Chroma((byte)v)).ToArray();

    private static byte[] IdentityMap { get; } = Enumerable.Range(0, 256).Select(v => (byte)v).ToArray();

    public static byte Luma(byte y) => (byte)(LumaOffset + (((LumaScale * y) + LumaBias) / 255));

    public static byte Chroma(byte c) => (byte)(((ChromaScale * c) + ChromaBias) / 255);

    /// <summary>The map of component <paramref name="component"/> (0 = Y) when <paramref name="compress"/>, else the identity.</summary>
    public static ReadOnlySpan<byte> Table(int component, bool compress) =>
        !compress ? IdentityTable : component == 0 ? LumaTable : ChromaTable;

    public static void CompressLuma(ReadOnlySpan<byte> src, Span<byte> dst, SimdLevel level) =>
        Compress(src, dst, level, LumaScale, LumaBias, LumaOffset, LumaMap);

    public static void CompressChroma(ReadOnlySpan<byte> src, Span<byte> dst, SimdLevel level) =>
        Compress(src, dst, level, ChromaScale, ChromaBias, 0, ChromaMap);

    private static void Compress(
        ReadOnlySpan<byte> src, Span<byte> dst, SimdLevel level, ushort scale, ushort bias, ushort offset, byte[] table)
    {
        var n = src.Length;
        InterleaveKernels.CheckLengths(dst.Length == n);
        var i = 0;
        if (level >= SimdLevel.Vector256)
        {
            var (s, b, o) = (Vector256.Create(scale), Vector256.Create(bias), Vector256.Create(offset));
            for (; i <= n - 32; i += 32)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(src[i..]));
                Vector256.Narrow(Map(lo, s, b, o), Map(hi, s, b, o)).CopyTo(dst[i..]);
            }
        }

        if (level >= SimdLevel.Vector128)
        {
            var (s, b, o) = (Vector128.Create(scale), Vector128.Create(bias), Vector128.Create(offset));
            for (; i <= n - 16; i += 16)
            {
                var (lo, hi) = Vector128.Widen(Vector128.Create(src[i..]));
                Vector128.Narrow(Map(lo, s, b, o), Map(hi, s, b, o)).CopyTo(dst[i..]);
            }
        }

        for (; i < n; i++)
        {
            dst[i] = table[src[i]];
        }
    }

    // x = v * scale + bias, then x / 255 as (x + 1 + (x >> 8)) >> 8.
    private static Vector256<ushort> Map(Vector256<ushort> v, Vector256<ushort> scale, Vector256<ushort> bias, Vector256<ushort> offset)
    {
        var x = (v * scale) + bias;
        return ((x + Vector256<ushort>.One + (x >> 8)) >> 8) + offset;
    }

    private static Vector128<ushort> Map(Vector128<ushort> v, Vector128<ushort> scale, Vector128<ushort> bias, Vector128<ushort> offset)
    {
        var x = (v * scale) + bias;
        return ((x + Vector128<ushort>.One + (x >> 8)) >> 8) + offset;
    }
}
