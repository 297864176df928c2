namespace Spectrum.Camera.Imaging;

/// <summary>
/// The scaler for raw camera frames and decoded JPEG planes into the guest formats: crop, scale (area filter
/// shrinking, bilinear enlarging: <see cref="FilterAxis"/>) and convert, vectorised in both passes and reading each
/// source row once. Bit for bit what <see cref="ScalarReferenceScaler"/> defines.
/// </summary>
/// <remarks>
/// <para><b>Horizontal pass first, once per source row.</b> Each source row is filtered horizontally, straight from
/// the frame, into a 16-bit row of the destination's width (<see cref="ShuffleFilterKernel"/>), kept in a small ring
/// of the last few such rows. Each destination row is then the weighted sum of the ring rows under it
/// (<see cref="RowBlendKernel"/>), rounded once and stored. So a source row is read from memory once, however many
/// destination rows it feeds (at 3:2, every third row feeds two), and the vertical pass works on rows already cut to
/// the destination's width.</para>
/// <para><b>Passes and row kinds.</b> Components whose source rows coincide are filtered from the same row read: a
/// pass is one source row space (YUYV's single plane; NV12's luma plane, then its chroma plane; I420's luma, then
/// its two chroma planes together). Within a pass, the components that go to destination rows of the same height
/// form a row kind with one ring: YUYV to NV12 has two kinds (luma rows at 3:2 from 1080p to 720p, chroma rows at
/// 3:1), both fed by each packed row while it is in cache; YUYV to YUYV has one, whose filtered row is already
/// interleaved Y, Cb, Y, Cr. A row kind's filtered row holds its destination planes' rows in an order that lets the
/// gathers read neighbouring bytes; the vertical pass stores it as plain runs, split (I420's Cb and Cr from one
/// interleaved run) or zipped (two runs into one interleaved row).</para>
/// <para><b>Full range.</b> Decoded JPEG planes are full range; each stored run is mapped to limited range in place
/// (<see cref="RangeCompression"/>), luma or chroma by the plane it went to, which is the reference's table lookup
/// after its rounding.</para>
/// <para><b>Scope.</b> Sources with chroma whose every destination plane is fed by one row kind: every raw camera
/// layout and every JPEG layout to NV12 and I420, raw layouts to YUYV too, except 4:2:0 sources to packed YUYV when
/// scaling (luma and chroma rows of different passes would share each destination row). Those, JPEG planes to YUYV
/// (whose rows mix luma and chroma, which the in-place map cannot tell apart) and greyscale JPEGs take
/// <see cref="ScaledConverter"/>.</para>
/// </remarks>
internal sealed class VectorScaledConverter : IImageConverter
{
    private readonly ImageLayout _source;
    private readonly ImageLayout _destination;
    private readonly SimdLevel _level;
    private readonly Pass[] _passes;

    private VectorScaledConverter(ImageLayout source, ImageLayout destination, SimdLevel level, Pass[] passes) =>
        (_source, _destination, _level, _passes) = (source, destination, level, passes);

    /// <summary>The converter, or null when the conversion is not one this scaler does (see the remarks).</summary>
    /// <param name="source">The camera frame's layout.</param>
    /// <param name="crop">The part of it that is scaled.</param>
    /// <param name="destination">The guest frame's layout.</param>
    /// <param name="level">The widest vectors to use.</param>
    /// <param name="bytePermute">Whether the horizontal pass may use AVX-512 VBMI's byte permute where the machine has it
    /// (<see cref="ShuffleFilterTable"/>); tests turn it off to check the other Vector256 gather on the same machine.</param>
    public static VectorScaledConverter? TryCreate(
        ImageLayout source, CropRegion crop, ImageLayout destination, SimdLevel level, bool bytePermute = true) =>
        Plan(source, crop, destination, level, bytePermute) is { } passes ? new VectorScaledConverter(source, destination, level, passes) : null;

    public void Convert(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        foreach (var pass in _passes)
        {
            Run(pass, source, destination);
        }
    }

    private void Run(Pass pass, ReadOnlySpan<byte> source, Span<byte> destination)
    {
        foreach (var kind in pass.Kinds)
        {
            kind.Next = 0;
        }

        for (var r = 0; r < pass.Rows; r++)
        {
            var plane = _source.Plane(pass.Planes[0]);
            var row = source[(plane.Offset + ((pass.OriginY + r) * plane.Stride))..];
            SourceRows rows;
            if (pass.Luma is { } luma)
            {
                // A packed row, split once into its luma and its CbCr bytes (see the remarks).
                var packed = row.Slice(pass.PackedStart, 2 * luma.Length);
                var chroma = pass.Chroma!;
                InterleaveKernels.Split(packed, pass.LumaFirst ? luma : chroma, pass.LumaFirst ? chroma : luma, _level);
                rows = new SourceRows(luma, chroma);
            }
            else
            {
                rows = new SourceRows(row, Row(source, pass, 1, r), Row(source, pass, 2, r));
            }

            foreach (var kind in pass.Kinds)
            {
                var filtered = kind.Ring[r % kind.Ring.Length];
                foreach (var (table, start) in kind.Horizontal)
                {
                    ShuffleFilterKernel.Apply(table, rows, filtered.AsSpan(start, table.Slots));
                }
            }

            foreach (var kind in pass.Kinds)
            {
                // Emit every destination row whose last source row this was.
                var vertical = kind.Vertical;
                while (kind.Next < vertical.DestinationLength && vertical.Starts[kind.Next] + vertical.Taps - 1 == r)
                {
                    Emit(kind, kind.Next++, destination);
                }
            }
        }
    }

    // Row r of the pass's plane i, or empty if the pass has fewer planes.
    private ReadOnlySpan<byte> Row(ReadOnlySpan<byte> source, Pass pass, int i, int r)
    {
        if (i >= pass.Planes.Length)
        {
            return default;
        }

        var plane = _source.Plane(pass.Planes[i]);
        return source[(plane.Offset + ((pass.OriginY + r) * plane.Stride))..];
    }

    private void Emit(RowKind kind, int row, Span<byte> destination)
    {
        var vertical = kind.Vertical;
        var first = vertical.Starts[row];
        for (var t = 0; t < vertical.Taps; t++)
        {
            kind.TapRows[t] = kind.Ring[(first + t) % kind.Ring.Length];
        }

        if (vertical.Taps % 2 == 1)
        {
            kind.TapRows[vertical.Taps] = kind.TapRows[vertical.Taps - 1];
        }

        var weights = vertical.WeightsOf(row);
        foreach (var segment in kind.Segments)
        {
            var (rows, taps, packed) = (kind.TapRows, vertical.Taps, kind.PairWeights);
            var target = _destination.Plane(segment.Plane).Row(destination, row, 0, segment.Count);
            var odd = segment.Store == Store.Split ? _destination.Plane(segment.OddPlane).Row(destination, row, 0, segment.Count) : default;
            switch (segment.Store)
            {
                case Store.Split:
                    RowBlendKernel.StoreSplit(rows, weights, taps, segment.Start, target, odd, packed, _level);
                    break;
                case Store.Zip:
                    RowBlendKernel.StoreZip(rows, weights, taps, segment.Start, segment.Start + (segment.Count / 2), target, packed, _level);
                    break;
                default:
                    RowBlendKernel.Store(rows, weights, taps, segment.Start, target, packed, _level);
                    break;
            }

            // Full-range (JPEG) samples are mapped to limited range as the last step, in place in the stored row.
            if (segment.Range == Range.Luma)
            {
                RangeCompression.CompressLuma(target, target, _level);
            }
            else if (segment.Range == Range.Chroma)
            {
                RangeCompression.CompressChroma(target, target, _level);
                RangeCompression.CompressChroma(odd, odd, _level);
            }
        }
    }

    // The passes, or null when the conversion is out of scope.
    private static Pass[]? Plan(ImageLayout source, CropRegion crop, ImageLayout destination, SimdLevel level, bool bytePermute)
    {
        // Full-range sources are mapped per stored run, so no destination row may mix luma and chroma (YUYV does).
        if (destination.FullRange || !source.HasChroma || (source.FullRange && destination.Kind == ImageKind.Yuyv))
        {
            return null;
        }

        // Packed rows feeding 4:2:0 rows are split first: luma and chroma slots then read neighbouring bytes. Packed to
        // packed keeps the rows whole (its slots, Y Cb Y Cr, already read neighbouring bytes), unless the gathers need
        // more than two loads per lane at the ratio; it then splits too and zips luma and chroma back as it stores.
        var packed = source.Kind is ImageKind.Yuyv or ImageKind.Uyvy;
        if (!packed || destination.Kind != ImageKind.Yuyv)
        {
            return Plan(source, crop, destination, level, bytePermute, split: packed);
        }

        var whole = Plan(source, crop, destination, level, bytePermute, split: false);
        return whole is null || whole.SelectMany(p => p.Kinds).SelectMany(k => k.Horizontal).All(h => h.Table.GathersCheaply)
            ? whole
            : Plan(source, crop, destination, level, bytePermute, split: true);
    }

    private static Pass[]? Plan(
        ImageLayout source, CropRegion crop, ImageLayout destination, SimdLevel level, bool bytePermute, bool split)
    {
        var axes = new Dictionary<(int, int), FilterAxis>();
        FilterAxis Axis(int from, int to) =>
            axes.TryGetValue((from, to), out var axis) ? axis : axes[(from, to)] = FilterAxis.Create(from, to);

        // Per component: its source row space (first row, rows) and destination height.
        var components = Enumerable.Range(0, 3).Select(c => (
            Component: c,
            OriginY: c == 0 ? crop.Y : crop.Y >> source.ChromaShiftY,
            Rows: source.ComponentHeight(c, crop.Height),
            Height: destination.ComponentHeight(c, destination.Height))).ToArray();

        // Each destination plane must be written by one row kind: one row space and one height.
        for (var plane = 0; plane < destination.PlaneCount; plane++)
        {
            var writers = components.Where(c => destination.Component(c.Component).Plane == plane)
                .Select(c => (c.OriginY, c.Rows, c.Height)).Distinct().Count();
            if (writers != 1)
            {
                return null;
            }
        }

        var passes = new List<Pass>();
        foreach (var space in components.GroupBy(c => (c.OriginY, c.Rows)))
        {
            var planes = space.Select(c => source.Component(c.Component).Plane).Distinct().Order().ToArray();

            // Where sample s (in source coordinates) of component c is: pass plane and byte offset in its row.
            (int Plane, int Offset) Locate(int c, int s)
            {
                if (split)
                {
                    return c == 0 ? (0, s - crop.X) : (1, (2 * (s - (crop.X / 2))) + c - 1);
                }

                var from = source.Component(c);
                return (Array.IndexOf(planes, from.Plane), (s * from.Step) + from.Offset);
            }

            var kinds = space.GroupBy(c => c.Height).Select(group => (
                Vertical: Axis(space.Key.Rows, group.Key),
                Planes: group.Select(c => destination.Component(c.Component).Plane).Distinct().Order().ToArray())).ToList();

            // Every slot of every kind, and how the vertical pass stores it. Two planar chroma destination planes
            // (I420) fed from one source plane (NV12's, or packed chroma split out) are filtered interleaved, Cb Cr
            // Cb Cr: neighbouring slots then read neighbouring bytes, so fewer loads gather them; the vertical pass
            // splits them again as it stores. A destination row that interleaves samples from two source planes
            // (YUYV from split packed rows, NV12 chroma from planar Cb and Cr) is filtered as the run of its even
            // bytes then the run of its odd bytes, each from one plane, and zipped as it is stored.
            var slotsOf = new List<(int Plane, (int Offset, int Weight)[] Taps)[]>();
            var segmentsOf = new List<Segment[]>();
            var chromaTogether = Locate(1, 0).Plane == Locate(2, 0).Plane;
            Range RangeOf(int plane) =>
                !source.FullRange ? Range.Limited : destination.Component(0).Plane == plane ? Range.Luma : Range.Chroma;
            foreach (var k in kinds)
            {
                (int Plane, (int Offset, int Weight)[] Taps)[] PlaneSlots(int p) => Slots(source, crop, destination, p, Axis, Locate);
                if (chromaTogether && IsSplit(destination, k.Planes))
                {
                    var (cb, cr) = (PlaneSlots(k.Planes[0]), PlaneSlots(k.Planes[1]));
                    slotsOf.Add(cb.Zip(cr).SelectMany(pair => new[] { pair.First, pair.Second }).ToArray());
                    segmentsOf.Add([new Segment(Store.Split, k.Planes[0], k.Planes[1], 0, cb.Length, RangeOf(k.Planes[0]))]);
                    continue;
                }

                if (k.Planes.Length == 1 && PlaneSlots(k.Planes[0]) is var row && row.Select(s => s.Plane).Distinct().Count() > 1
                    && Enumerable.Range(0, 3).Any(c => destination.Component(c).Plane == k.Planes[0] && destination.Component(c).Step > 1))
                {
                    slotsOf.Add(row.Where((_, i) => i % 2 == 0).Concat(row.Where((_, i) => i % 2 == 1)).ToArray());
                    segmentsOf.Add([new Segment(Store.Zip, k.Planes[0], -1, 0, row.Length, RangeOf(k.Planes[0]))]);
                    continue;
                }

                var start = 0;
                var segments = new List<Segment>();
                foreach (var p in k.Planes)
                {
                    var count = destination.Plane(p).RowBytes;
                    segments.Add(new Segment(Store.Plain, p, -1, start, count, RangeOf(p)));
                    start += count;
                }

                slotsOf.Add(k.Planes.SelectMany(PlaneSlots).ToArray());
                segmentsOf.Add([.. segments]);
            }

            if (slotsOf.Any(slots => slots.Any(s => s.Taps.Length == 0)))
            {
                return null;
            }

            // The bytes the pass reads of each plane's row: the span of all the slots' taps.
            var readable = Enumerable.Range(0, split ? 2 : planes.Length).Select(p =>
            {
                var taps = slotsOf.SelectMany(slots => slots).Where(s => s.Plane == p).SelectMany(s => s.Taps).ToArray();
                return (Start: taps.Min(t => t.Offset), End: taps.Max(t => t.Offset) + 1);
            }).ToArray();

            // One table per zipped run (each run from one plane, so it gets the single-plane gathers), else per kind.
            ShuffleFilterTable Table(IEnumerable<(int Plane, (int Offset, int Weight)[] Taps)> slots) =>
                ShuffleFilterTable.Create(slots.Select(s => s.Taps).ToArray(), slots.Select(s => s.Plane).ToArray(), readable, level, bytePermute);
            var rowKinds = kinds.Select((k, i) =>
            {
                var (slots, segments) = (slotsOf[i], segmentsOf[i]);
                (ShuffleFilterTable, int)[] tables = segments[0].Store == Store.Zip
                    ? [(Table(slots[..(slots.Length / 2)]), 0), (Table(slots[(slots.Length / 2)..]), slots.Length / 2)]
                    : [(Table(slots), 0)];
                return new RowKind(k.Vertical, tables, slots.Length, segments);
            }).ToArray();

            var pass = new Pass(planes, space.Key.OriginY, space.Key.Rows, rowKinds);
            if (split)
            {
                pass.SplitPackedRows(2 * crop.X, crop.Width, source.Kind == ImageKind.Yuyv);
            }

            passes.Add(pass);
        }

        return [.. passes];
    }

    // Two destination planes of one row width, each holding one component with step 1: I420's Cb and Cr.
    private static bool IsSplit(ImageLayout destination, int[] planes) =>
        planes.Length == 2 && destination.Plane(planes[0]).RowBytes == destination.Plane(planes[1]).RowBytes
        && Enumerable.Range(0, 3).Count(c => destination.Component(c).Plane == planes[0] && destination.Component(c).Step == 1) == 1
        && Enumerable.Range(0, 3).Count(c => destination.Component(c).Plane == planes[1] && destination.Component(c).Step == 1) == 1;

    // The slots of one destination plane's row, in byte order: each byte's pass plane and taps (byte offset in that
    // plane's row, weight). An empty tap list marks a byte no component covers.
    private static (int Plane, (int Offset, int Weight)[] Taps)[] Slots(
        ImageLayout source, CropRegion crop, ImageLayout destination, int plane, Func<int, int, FilterAxis> axis,
        Func<int, int, (int Plane, int Offset)> locate)
    {
        var bytes = destination.Plane(plane).RowBytes;
        var slots = new (int Plane, (int Offset, int Weight)[] Taps)[bytes];
        Array.Fill(slots, (0, []));
        for (var c = 0; c < 3; c++)
        {
            var target = destination.Component(c);
            if (target.Plane != plane)
            {
                continue;
            }

            var originX = c == 0 ? crop.X : crop.X >> source.ChromaShiftX;
            var horizontal = axis(source.ComponentWidth(c, crop.Width), destination.ComponentWidth(c, destination.Width));
            for (var x = 0; x < horizontal.DestinationLength; x++)
            {
                var weights = horizontal.WeightsOf(x);
                var taps = new (int, int)[weights.Length];
                var at = 0;
                for (var t = 0; t < weights.Length; t++)
                {
                    (at, var offset) = locate(c, originX + horizontal.Starts[x] + t);
                    taps[t] = (offset, weights[t]);
                }

                slots[target.Offset + (x * target.Step)] = (at, taps);
            }
        }

        return slots;
    }

    /// <summary>
    /// One source row space: its planes (one or two), first row and row count, the row kinds it feeds, and for packed
    /// rows that are split first, the two rows they are split into.
    /// </summary>
    private sealed class Pass(int[] planes, int originY, int rows, RowKind[] kinds)
    {
        public int[] Planes { get; } = planes;

        public int OriginY { get; } = originY;

        public int Rows { get; } = rows;

        public RowKind[] Kinds { get; } = kinds;

        /// <summary>The cropped packed row's luma, when rows are split (pass plane 0).</summary>
        public byte[]? Luma { get; private set; }

        /// <summary>The cropped packed row's CbCr pairs, when rows are split (pass plane 1).</summary>
        public byte[]? Chroma { get; private set; }

        /// <summary>The first byte of the crop in a packed row.</summary>
        public int PackedStart { get; private set; }

        /// <summary>YUYV (luma in the even bytes) rather than UYVY.</summary>
        public bool LumaFirst { get; private set; }

        public void SplitPackedRows(int packedStart, int width, bool lumaFirst)
        {
            (PackedStart, LumaFirst) = (packedStart, lumaFirst);
            (Luma, Chroma) = (new byte[width], new byte[width]);
        }
    }

    /// <summary>How the vertical pass stores a run of a filtered row.</summary>
    private enum Store
    {
        /// <summary>Values in order.</summary>
        Plain,

        /// <summary>Even values to one plane, odd values to another (I420 chroma filtered interleaved).</summary>
        Split,

        /// <summary>The run's first half to the even bytes, its second half to the odd bytes (YUYV from luma and CbCr runs).</summary>
        Zip,
    }

    /// <summary>Which map stored samples go through: none (limited-range source), or full to limited range for luma or chroma.</summary>
    private enum Range
    {
        Limited,
        Luma,
        Chroma,
    }

    /// <summary>
    /// Where the values of a filtered row from <paramref name="Start"/> are stored: <paramref name="Count"/> bytes at
    /// the start of <paramref name="Plane"/>'s destination row, and for <see cref="Store.Split"/> as many in
    /// <paramref name="OddPlane"/>'s; then mapped as <paramref name="Range"/> says.
    /// </summary>
    private readonly record struct Segment(Store Store, int Plane, int OddPlane, int Start, int Count, Range Range);

    /// <summary>
    /// Destination rows of one height fed by one pass: the vertical filter, the horizontal tables (each filling the
    /// filtered row from a first slot), the ring of filtered rows, and where the parts of a filtered row are stored.
    /// </summary>
    private sealed class RowKind(FilterAxis vertical, (ShuffleFilterTable Table, int Start)[] horizontal, int slots, Segment[] segments)
    {
        public FilterAxis Vertical { get; } = vertical;

        public (ShuffleFilterTable Table, int Start)[] Horizontal { get; } = horizontal;

        public Segment[] Segments { get; } = segments;

        /// <summary>The filtered rows of the last <c>Taps</c> source rows, source row r at r mod Taps.</summary>
        public short[][] Ring { get; } = Enumerable.Range(0, vertical.Taps).Select(_ => new short[slots]).ToArray();

        /// <summary>The ring rows under the destination row being made, padded to an even count.</summary>
        public short[][] TapRows { get; } = new short[vertical.Taps + 1][];

        public int[] PairWeights { get; } = new int[(vertical.Taps + 1) / 2];

        /// <summary>The next destination row to make.</summary>
        public int Next { get; set; }
    }
}
