namespace Spectrum.Camera.Fuzz.Afl;

/// <summary>
/// The AFL edge-coverage map as instrumented code sees it. <see cref="Instrumenter"/> inserts, at the start of every
/// basic block of the parser assemblies, <c>SharedMem[cur ^ PrevLocation]++; PrevLocation = cur >> 1;</c> with a
/// random block id <c>cur</c> (AFL's classic scheme). Until afl-fuzz hands us its shared memory the map is a private
/// buffer, so instrumented code also runs without AFL (corpus replay).
/// </summary>
public static unsafe class Trace
{
    /// <summary>AFL's default map size (MAP_SIZE = 2^16).</summary>
    public const int MapSize = 1 << 16;

#pragma warning disable CA2211 // Instrumented IL reads and writes these fields directly: they must be plain public fields.
    public static byte* SharedMem = AllocatePrivateMap();

    public static int PrevLocation;
#pragma warning restore CA2211

    private static byte* AllocatePrivateMap() => (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(MapSize);
}
