using System.Runtime.Intrinsics;

namespace Spectrum.Camera.Imaging;

/// <summary>Which <see cref="SimdLevel"/>s this machine runs in hardware.</summary>
internal static class SimdCapabilities
{
    /// <summary>
    /// The widest accelerated level. Vector512 serves one kernel (see <see cref="SimdLevel.Vector512"/>): the others
    /// are memory-bound at camera sizes, or gather with 256-bit multiply-adds, and 512-bit loops would only lengthen
    /// the scalar tails of short chroma rows.
    /// </summary>
    public static SimdLevel Best { get; } =
        Vector512.IsHardwareAccelerated ? SimdLevel.Vector512
        : Vector256.IsHardwareAccelerated ? SimdLevel.Vector256
        : Vector128.IsHardwareAccelerated ? SimdLevel.Vector128
        : SimdLevel.Scalar;

    /// <summary>Every level up to <see cref="Best"/>, for tests that compare them.</summary>
    public static IReadOnlyList<SimdLevel> Available { get; } =
        Enumerable.Range(0, (int)Best + 1).Select(level => (SimdLevel)level).ToArray();
}
