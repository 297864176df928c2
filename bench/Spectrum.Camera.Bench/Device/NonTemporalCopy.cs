using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spectrum.Camera.Bench.Device;

/// <summary>
/// A copy with non-temporal (streaming) stores, for the diagnosis benchmarks only: a frame written into guest pages is
/// read later by the guest on another core, so writing it around the cache (no read-for-ownership of each
/// destination line, no eviction of the device's own working set) is the obvious lever on the device's copy. The
/// benchmarks measure what it would buy before anyone changes the device.
/// </summary>
internal static unsafe class NonTemporalCopy
{
    public static bool IsSupported => Avx512F.IsSupported || Avx.IsSupported;

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> (64-byte aligned for the fast part).</summary>
    public static void Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("destination too short", nameof(destination));
        }

        fixed (byte* s = source)
        fixed (byte* d = destination)
        {
            var n = (nuint)source.Length;
            nuint i = 0;
            if (((nuint)d & 63) == 0)
            {
                if (Avx512F.IsSupported)
                {
                    for (; i + 64 <= n; i += 64)
                    {
                        Avx512F.StoreAlignedNonTemporal(d + i, Vector512.Load(s + i));
                    }
                }
                else if (Avx.IsSupported)
                {
                    for (; i + 32 <= n; i += 32)
                    {
                        Avx.StoreAlignedNonTemporal(d + i, Vector256.Load(s + i));
                    }
                }

                if (Sse.IsSupported)
                {
                    Sse.StoreFence();
                }
            }

            source[(int)i..].CopyTo(destination[(int)i..]);
        }
    }
}
