using System.Runtime.Intrinsics;

namespace Spectrum.Camera.Imaging;

/// <summary>Which <see cref="SimdLevel"/>s this machine runs in hardware.</summary>
internal static class SimdCapabilities
{
    /// <summary>
    /// The widest accelerated level. Vector512 is not used: the kernels are memory-bound at camera sizes, and
    /// 512-bit registers would only lengthen the scalar tails of short chroma rows.
    /// </summary>
    public static SimdLevel Best { get; } =
        Vector256.IsHardwareAccelerated ? SimdLevel.Vector256
        : Vector128.IsHardwareAccelerated ? SimdLevel.Vector128
        : SimdLevel.Scalar;

    /// <summary>Every level up to <see cref="Best"/>, for tests that compare them.</summary>
    public static IReadOnlyList<SimdLevel> Available { get; } =
        Enumerable.Range(0, (int)Best + 1).Select(level => (SimdLevel)level).ToArray();
}
