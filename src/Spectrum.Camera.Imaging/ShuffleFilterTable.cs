using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// One horizontal filter laid out for <see cref="ShuffleFilterKernel"/>: for every output sample ("slot") of a
/// filtered row, the source bytes it sums and their weights, plus, for the SIMD kernels, the 16-byte loads and the
/// byte shuffles that gather those bytes from them. Built once per converter.
/// </summary>
/// <remarks>
/// <para>A slot is one sample of one component in the order the destination stores them (so YUYV slots go Y, Cb, Y,
/// Cr and NV12 chroma slots Cb, Cr), which lets one kernel filter packed, semi-planar and planar rows with any crop,
/// ratio or component step. A slot's taps are the <see cref="FilterAxis"/> taps of its component with zero weights
/// dropped; a weight of 256 (a sample taken whole, at ratio 1 or at a clamped bilinear edge) becomes two taps of 128
/// on the same byte, because the multiply-add instruction takes weights of at most 255. Taps go in pairs, one
/// multiply-add each; slots with fewer taps are padded with weight 0.</para>
/// <para>SIMD layout: a lane is 8 consecutive slots (16 bytes: one tap pair of each). The lane's slots are split into
/// <see cref="Windows"/> groups of consecutive slots; each group's bytes, for every tap pair, lie in one plane within
/// 16 bytes, so one load per group serves all the pairs, and one shuffle per pair and group gathers them (a mask
/// byte of 0x80 gives 0, so the groups' shuffles are OR-ed). One group per lane covers planar rows at the common
/// ratios (3:2 needs 12 bytes for 8 outputs); larger ratios or packed rows take 2 or 4. Where even one slot's taps
/// span more than 16 bytes (packed chroma beyond about 4:1), each tap pair gets its own loads instead
/// (<see cref="SharedLoads"/> false), which always fits: a pair is two neighbouring samples. Loads never leave the
/// bytes the pass reads of each row (a load is moved back where the row's readable bytes end less than 16 bytes
/// after its first byte), so row padding and pixels outside the crop are never read.</para>
/// <para>Byte permute (AVX-512 VBMI, <see cref="BytePermute"/>): where the machine has the two-register byte permute
/// (<c>vpermt2b</c>), a chunk of 16 slots takes its bytes from one 64-byte window (two 32-byte loads) with one
/// permute per tap pair, instead of a load and a shuffle per lane and group: 9:4 luma needs 39 bytes for 16 outputs,
/// which the 16-byte shuffles could only reach with four loads. Chunks that need more (4.5:1, 1080p to 240p: 78
/// bytes) take a 128-byte window in two 64-byte registers and the 512-bit form of the same permute, of whose result
/// the kernel uses the low 32 bytes. Same slots, same weights, same sums.</para>
/// </remarks>
internal sealed class ShuffleFilterTable
{
    /// <summary>Slots per 128-bit lane: 16 bytes hold one tap pair of 8 slots.</summary>
    public const int LaneSlots = 8;

    // Slot groups per lane to try, fewest (fastest) first.
    private static readonly int[] WindowCounts = [1, 2, 4, LaneSlots];

    private ShuffleFilterTable(int slots, int pairs, int[] slotPlane, int[] tapOffset, byte[] tapWeight)
    {
        Slots = slots;
        Pairs = pairs;
        SlotPlane = slotPlane;
        TapOffset = tapOffset;
        TapWeight = tapWeight;
    }

    /// <summary>Samples per filtered row.</summary>
    public int Slots { get; }

    /// <summary>Tap pairs per slot (the longest slot's; shorter ones are padded with zero weights).</summary>
    public int Pairs { get; }

    /// <summary>The level the kernel runs at: the one asked for, or narrower for rows too short to vectorise.</summary>
    public SimdLevel Level { get; private set; }

    /// <summary>Slot groups per lane, each gathered from one 16-byte load (1, 2, 4 or 8).</summary>
    public int Windows { get; private set; }

    /// <summary>Whether a group's load serves all its tap pairs (else each pair has its own loads).</summary>
    public bool SharedLoads { get; private set; }

    /// <summary>Whether the vector kernel gathers with at most two loads per lane (or the byte permute), or runs in scalar only because the row is short.</summary>
    public bool GathersCheaply => Level == SimdLevel.Scalar || BytePermute || (SharedLoads && Windows <= 2);

    /// <summary>Per slot, the pass plane (0-2) its samples come from.</summary>
    public int[] SlotPlane { get; }

    /// <summary>Per slot, <c>2 * Pairs</c> byte offsets in its plane's row.</summary>
    public int[] TapOffset { get; }

    /// <summary>Per slot, <c>2 * Pairs</c> weights (0-255; padding taps 0), summing to 256.</summary>
    public byte[] TapWeight { get; }

    /// <summary>Whether every slot comes from the same plane (all but planar sources to interleaved rows).</summary>
    public bool SinglePlane { get; private set; }

    /// <summary>First slot of each chunk the vector kernel makes (8 slots at Vector128, 16 at Vector256); the last chunk may overlap the one before.</summary>
    public int[] ChunkStarts { get; private set; } = [];

    /// <summary>Per (chunk, window), or per (chunk, pair, window) without shared loads: the 16-byte load (Vector128 level).</summary>
    public Load[] Loads128 { get; private set; } = [];

    /// <summary>Per (chunk, window, pair), or per (chunk, pair, window) without shared loads: the shuffle gathering the pair's bytes from that load (Vector128 level).</summary>
    public Vector128<byte>[] Masks128 { get; private set; } = [];

    /// <summary>Per (chunk, pair): the pair's weights for the chunk's slots (Vector128 level).</summary>
    public Vector128<byte>[] Weights128 { get; private set; } = [];

    /// <summary>As <see cref="Loads128"/>, the loads of the low and the high lane (Vector256 level).</summary>
    public LanePair[] Loads256 { get; private set; } = [];

    /// <summary>As <see cref="Masks128"/>, both lanes' shuffles (Vector256 level).</summary>
    public Vector256<byte>[] Masks256 { get; private set; } = [];

    /// <summary>Per (chunk, pair): both lanes' weights (Vector256 level, either gather).</summary>
    public Vector256<byte>[] Weights256 { get; private set; } = [];

    /// <summary>Whether the Vector256 kernel gathers with the byte permute of AVX-512 VBMI (see the remarks).</summary>
    public bool BytePermute { get; private set; }

    /// <summary>The bytes each chunk's window spans (64 or 128; byte permute).</summary>
    public int PermuteWindow { get; private set; }

    /// <summary>Per chunk: the first byte of its window (byte permute).</summary>
    public int[] PermuteBases { get; private set; } = [];

    /// <summary>Per (chunk, pair): the window byte each of the chunk's 32 tap bytes comes from (byte permute, 64-byte window).</summary>
    public Vector256<byte>[] PermuteIndices { get; private set; } = [];

    /// <summary>As <see cref="PermuteIndices"/> in the low 32 bytes, for a 128-byte window.</summary>
    public Vector512<byte>[] WidePermuteIndices { get; private set; } = [];

    /// <summary>
    /// The table for <paramref name="taps"/> (per slot, its (byte offset, weight) taps, weights summing to 256) with
    /// <paramref name="slotPlane"/> giving each slot's pass plane, and <paramref name="readable"/> the bytes the pass
    /// may read of each plane's row ([start, end)). <paramref name="bytePermute"/> asks for the AVX-512 VBMI gather at
    /// the Vector256 level; it is used where the machine has it and the rows allow it.
    /// </summary>
    public static ShuffleFilterTable Create(
        IReadOnlyList<(int Offset, int Weight)[]> taps, int[] slotPlane, (int Start, int End)[] readable, SimdLevel level,
        bool bytePermute)
    {
        var slots = taps.Count;
        var split = new List<(int Offset, int Weight)>[slots];
        var pairs = 1;
        for (var s = 0; s < slots; s++)
        {
            split[s] = [];
            foreach (var (offset, weight) in taps[s])
            {
                if (weight == FilterAxis.One)
                {
                    split[s].Add((offset, FilterAxis.One / 2));
                    split[s].Add((offset, FilterAxis.One / 2));
                }
                else if (weight > 0)
                {
                    split[s].Add((offset, weight));
                }
            }

            pairs = Math.Max(pairs, (split[s].Count + 1) / 2);
        }

        var tapOffset = new int[slots * 2 * pairs];
        var tapWeight = new byte[slots * 2 * pairs];
        for (var s = 0; s < slots; s++)
        {
            for (var t = 0; t < split[s].Count; t++)
            {
                tapOffset[(s * 2 * pairs) + t] = split[s][t].Offset;
                tapWeight[(s * 2 * pairs) + t] = (byte)split[s][t].Weight;
            }

            // Padding taps read the slot's first byte with weight 0 (the scalar path reads them; the shuffles zero them).
            for (var t = split[s].Count; t < 2 * pairs; t++)
            {
                tapOffset[(s * 2 * pairs) + t] = split[s][0].Offset;
            }
        }

        var table = new ShuffleFilterTable(slots, pairs, slotPlane, tapOffset, tapWeight);
        table.Vectorise(level, readable, bytePermute);
        return table;
    }

    private void Vectorise(SimdLevel level, (int Start, int End)[] readable, bool bytePermute)
    {
        // 256-bit multiply-adds at most (the byte permute's 512-bit form gathers within them).
        level = level > SimdLevel.Vector256 ? SimdLevel.Vector256 : level;
        if (level >= SimdLevel.Vector256 && (!Avx2.IsSupported || Slots < 2 * LaneSlots))
        {
            level = SimdLevel.Vector128;
        }

        if (level >= SimdLevel.Vector128 && (Slots < LaneSlots || readable.Any(w => w.End - w.Start < 16)))
        {
            level = SimdLevel.Scalar;
        }

        Level = level;
        SinglePlane = SlotPlane.All(p => p == SlotPlane[0]);
        if (level == SimdLevel.Scalar)
        {
            return;
        }

        var chunkSlots = level == SimdLevel.Vector256 ? 2 * LaneSlots : LaneSlots;
        var starts = new List<int>();
        for (var s = 0; s + chunkSlots <= Slots; s += chunkSlots)
        {
            starts.Add(s);
        }

        if (Slots % chunkSlots != 0)
        {
            starts.Add(Slots - chunkSlots);
        }

        ChunkStarts = [.. starts];
        if (level == SimdLevel.Vector256 && bytePermute && Avx512Vbmi.VL.IsSupported && SinglePlane)
        {
            var (start, end) = readable[SlotPlane[0]];
            var widest = ChunkStarts.Max(c => ChunkBytes(c).Max() - ChunkBytes(c).Min() + 1);
            var window = widest <= 64 ? 64 : widest <= 128 && Avx512Vbmi.IsSupported ? 128 : 0;
            if (window > 0 && end - start >= window)
            {
                Permute(end, window);
                return;
            }
        }

        var lanes = chunkSlots / LaneSlots;
        var laneStarts = ChunkStarts.SelectMany(c => Enumerable.Range(0, lanes).Select(lane => c + (lane * LaneSlots))).ToArray();
        bool FitsAll(int n, int? pair) => laneStarts.All(first => Enumerable.Range(0, n).All(w => Fits(first, w, n, pair)));
        var shared = WindowCounts.FirstOrDefault(n => FitsAll(n, null));
        SharedLoads = shared != 0;
        // Per tap pair, one slot per group always fits.
        Windows = SharedLoads ? shared : WindowCounts.First(n => Enumerable.Range(0, Pairs).All(p => FitsAll(n, p)));

        var loadsPerChunk = SharedLoads ? Windows : Windows * Pairs;
        var loads = new Load[ChunkStarts.Length * loadsPerChunk * lanes];
        var masks = new Vector128<byte>[ChunkStarts.Length * Windows * Pairs * lanes];
        var weights = new Vector128<byte>[ChunkStarts.Length * Pairs * lanes];
        for (var c = 0; c < ChunkStarts.Length; c++)
        {
            for (var lane = 0; lane < lanes; lane++)
            {
                var first = ChunkStarts[c] + (lane * LaneSlots);
                for (var w = 0; w < Windows; w++)
                {
                    for (var p = 0; p < Pairs; p++)
                    {
                        // Shared: loads per (chunk, window), masks per (chunk, window, pair). Else both per (chunk, pair, window).
                        var load = LoadFor(first, w, SharedLoads ? null : p, readable);
                        var at = SharedLoads ? (c * Windows) + w : (((c * Pairs) + p) * Windows) + w;
                        loads[(at * lanes) + lane] = load;
                        var mask = SharedLoads ? (((c * Windows) + w) * Pairs) + p : at;
                        masks[(mask * lanes) + lane] = Mask(first, w, p, load.Base);
                    }
                }

                for (var p = 0; p < Pairs; p++)
                {
                    weights[(((c * Pairs) + p) * lanes) + lane] = LaneWeights(first, p);
                }
            }
        }

        if (lanes == 1)
        {
            (Loads128, Masks128, Weights128) = (loads, masks, weights);
        }
        else
        {
            Loads256 = Enumerable.Range(0, loads.Length / 2).Select(i => new LanePair(loads[2 * i], loads[(2 * i) + 1])).ToArray();
            Masks256 = Enumerable.Range(0, masks.Length / 2).Select(i => Vector256.Create(masks[2 * i], masks[(2 * i) + 1])).ToArray();
            Weights256 = Enumerable.Range(0, weights.Length / 2).Select(i => Vector256.Create(weights[2 * i], weights[(2 * i) + 1])).ToArray();
        }
    }

    private void Permute(int end, int window)
    {
        BytePermute = true;
        PermuteWindow = window;
        PermuteBases = new int[ChunkStarts.Length];
        var indices = new Vector256<byte>[ChunkStarts.Length * Pairs];
        Weights256 = new Vector256<byte>[ChunkStarts.Length * Pairs];
        for (var c = 0; c < ChunkStarts.Length; c++)
        {
            var first = ChunkStarts[c];
            // The window starts at the chunk's first byte, or earlier where the row's readable bytes end sooner.
            var @base = Math.Min(ChunkBytes(first).Min(), end - window);
            PermuteBases[c] = @base;
            for (var p = 0; p < Pairs; p++)
            {
                var index = new byte[32];
                for (var s = 0; s < 2 * LaneSlots; s++)
                {
                    for (var t = 0; t < 2; t++)
                    {
                        // Padding taps (weight 0) may take any byte: the window's first.
                        var i = ((first + s) * 2 * Pairs) + (2 * p) + t;
                        index[(2 * s) + t] = TapWeight[i] == 0 ? (byte)0 : (byte)(TapOffset[i] - @base);
                    }
                }

                indices[(c * Pairs) + p] = Vector256.Create(index);
                Weights256[(c * Pairs) + p] = Vector256.Create(LaneWeights(first, p), LaneWeights(first + LaneSlots, p));
            }
        }

        if (window == 64)
        {
            PermuteIndices = indices;
        }
        else
        {
            WidePermuteIndices = indices.Select(i => Vector512.Create(i, Vector256<byte>.Zero)).ToArray();
        }
    }

    // The byte offsets with weight of the 16 slots from `first` (one plane).
    private IEnumerable<int> ChunkBytes(int first) => Bytes(first, 0, 1, null).Concat(Bytes(first + LaneSlots, 0, 1, null)).Select(b => b.Offset);

    // The slots of group w of n of the lane at `first`.
    private static IEnumerable<int> Group(int first, int w, int n) => Enumerable.Range(first + (w * (LaneSlots / n)), LaneSlots / n);

    // The taps that carry weight of a group's slots: of every pair, or of one.
    private IEnumerable<(int Plane, int Offset)> Bytes(int first, int w, int n, int? pair) =>
        from s in Group(first, w, n)
        from t in pair is { } p ? Enumerable.Range((s * 2 * Pairs) + (2 * p), 2) : Enumerable.Range(s * 2 * Pairs, 2 * Pairs)
        where TapWeight[t] != 0
        select (SlotPlane[s], TapOffset[t]);

    // Whether group w of n of the lane at `first` takes every byte it needs (of every pair, or of one) from one plane,
    // within 16 bytes.
    private bool Fits(int first, int w, int n, int? pair)
    {
        var bytes = Bytes(first, w, n, pair).ToArray();
        return bytes.Length == 0
            || (bytes.Select(b => b.Plane).Distinct().Count() == 1 && bytes.Max(b => b.Offset) - bytes.Min(b => b.Offset) < 16);
    }

    private Load LoadFor(int first, int w, int? pair, (int Start, int End)[] readable)
    {
        var bytes = Bytes(first, w, Windows, pair).ToArray();
        if (bytes.Length == 0)
        {
            // Only padding taps (a short slot's last pair): nothing to gather, any readable bytes will do.
            return new Load(SlotPlane[first], readable[SlotPlane[first]].Start);
        }

        var plane = bytes[0].Plane;
        // Start at the group's first byte, or earlier where the row's readable bytes end less than 16 bytes later.
        return new Load(plane, Math.Min(bytes.Min(b => b.Offset), readable[plane].End - 16));
    }

    private Vector128<byte> Mask(int first, int w, int p, int @base)
    {
        var mask = new byte[16];
        Array.Fill(mask, (byte)0x80);
        foreach (var s in Group(first, w, Windows))
        {
            for (var t = 2 * p; t < (2 * p) + 2; t++)
            {
                var i = (s * 2 * Pairs) + t;
                if (TapWeight[i] != 0)
                {
                    mask[(2 * (s - first)) + (t - (2 * p))] = (byte)(TapOffset[i] - @base);
                }
            }
        }

        return Vector128.Create(mask);
    }

    private Vector128<byte> LaneWeights(int first, int p)
    {
        var weights = new byte[16];
        for (var s = 0; s < LaneSlots; s++)
        {
            weights[2 * s] = TapWeight[((first + s) * 2 * Pairs) + (2 * p)];
            weights[(2 * s) + 1] = TapWeight[((first + s) * 2 * Pairs) + (2 * p) + 1];
        }

        return Vector128.Create(weights);
    }

    /// <summary>A 16-byte load of pass plane <paramref name="Plane"/>'s row at byte <paramref name="Base"/>.</summary>
    internal readonly record struct Load(int Plane, int Base);

    /// <summary>The loads of the two 128-bit lanes of a 256-bit vector.</summary>
    internal readonly record struct LanePair(Load Low, Load High);
}
