using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// One vector width of <see cref="ShuffleFilterKernel"/>'s shuffle-and-multiply loops: the loops are written once
/// against this shape and run at 128 bits (<see cref="ShuffleLanes128"/>) or 256 bits (<see cref="ShuffleLanes256"/>).
/// The implementations are structs used as generic arguments, so the JIT compiles each width's loops on their own,
/// with these calls inlined: the same instructions as loops written out per width.
/// </summary>
/// <typeparam name="TBytes">A vector of bytes at this width.</typeparam>
/// <typeparam name="TSums">A vector of 16-bit sums at this width.</typeparam>
/// <typeparam name="TLoad">The table's description of one vector's load at this width.</typeparam>
internal interface IShuffleLanes<TBytes, TSums, TLoad>
    where TBytes : struct
    where TSums : struct
{
    /// <summary>The bytes of <paramref name="load"/> from the one plane <paramref name="row"/>, flipped to signed.</summary>
    static abstract TBytes LoadFlipped(ReadOnlySpan<byte> row, in TLoad load);

    /// <summary>The bytes of <paramref name="load"/> from the plane it names, flipped to signed.</summary>
    static abstract TBytes LoadFlipped(SourceRows rows, in TLoad load);

    /// <summary>Byte shuffle within each 128-bit lane (<c>pshufb</c>): a mask byte with its top bit set gives 0.</summary>
    static abstract TBytes Shuffle(TBytes bytes, TBytes mask);

    static abstract TBytes Or(TBytes a, TBytes b);

    /// <summary><c>pmaddubsw</c>: unsigned weights times the signed samples, neighbouring pairs summed.</summary>
    static abstract TSums MultiplyAdd(TBytes weights, TBytes samples);

    static abstract TSums Add(TSums a, TSums b);

    static abstract void Store(TSums sums, Span<short> destination);
}

/// <summary>The 128-bit width: one 16-byte load per lane.</summary>
internal readonly struct ShuffleLanes128 : IShuffleLanes<Vector128<byte>, Vector128<short>, ShuffleFilterTable.Load>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> LoadFlipped(ReadOnlySpan<byte> row, in ShuffleFilterTable.Load load) =>
        Vector128.Create(row.Slice(load.Base, 16)) ^ Vector128.Create((byte)0x80);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> LoadFlipped(SourceRows rows, in ShuffleFilterTable.Load load) =>
        LoadFlipped(rows[load.Plane], load);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> Shuffle(Vector128<byte> bytes, Vector128<byte> mask) => PackedMultiplyAdd.Shuffle(bytes, mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> Or(Vector128<byte> a, Vector128<byte> b) => a | b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MultiplyAdd(Vector128<byte> weights, Vector128<byte> samples) =>
        PackedMultiplyAdd.Bytes(weights, samples.AsSByte());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> Add(Vector128<short> a, Vector128<short> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<short> sums, Span<short> destination) => sums.CopyTo(destination);
}

/// <summary>The 256-bit width (AVX2): each 128-bit lane loaded on its own, as the lane's shuffle sees only its lane.</summary>
internal readonly struct ShuffleLanes256 : IShuffleLanes<Vector256<byte>, Vector256<short>, ShuffleFilterTable.LanePair>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> LoadFlipped(ReadOnlySpan<byte> row, in ShuffleFilterTable.LanePair load) =>
        Vector256.Create(Vector128.Create(row.Slice(load.Low.Base, 16)), Vector128.Create(row.Slice(load.High.Base, 16)))
        ^ Vector256.Create((byte)0x80);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> LoadFlipped(SourceRows rows, in ShuffleFilterTable.LanePair load) =>
        Vector256.Create(Vector128.Create(rows[load.Low.Plane].Slice(load.Low.Base, 16)), Vector128.Create(rows[load.High.Plane].Slice(load.High.Base, 16)))
        ^ Vector256.Create((byte)0x80);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Shuffle(Vector256<byte> bytes, Vector256<byte> mask) => Avx2.Shuffle(bytes, mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Or(Vector256<byte> a, Vector256<byte> b) => a | b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> MultiplyAdd(Vector256<byte> weights, Vector256<byte> samples) =>
        Avx2.MultiplyAddAdjacent(weights, samples.AsSByte());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Add(Vector256<short> a, Vector256<short> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<short> sums, Span<short> destination) => sums.CopyTo(destination);
}
