namespace Spectrum.Camera.Imaging;

/// <summary>
/// The fast path when no scaling is needed (the crop is the guest size): every conversion between the common
/// camera layouts (YUYV, UYVY, NV12, I420, and JPEG's I422) and the guest formats (YUYV, NV12, I420), one row pair at
/// a time, built from the SIMD row kernels.
/// </summary>
/// <remarks>
/// <para>Each source row is read once and each destination row written once; chroma and luma go straight into the
/// destination where the layouts allow it, and otherwise through a few row-sized scratch buffers that stay in L1.
/// Identical formats are plain row copies, which also drop any row padding.</para>
/// <para>Chroma rules between 4:2:2 and 4:2:0 are those of <see cref="ChromaKernels"/>: the rounded average of two
/// rows going down, 3/4-1/4 interpolation going up, the crop's edge rows repeated at its top and bottom.</para>
/// <para>JPEG sources are full range; their samples are mapped to limited range (<see cref="RangeCompression"/>) as
/// the last step before they are stored.</para>
/// </remarks>
internal sealed class UnscaledConverter : IImageConverter
{
    // Row pairs moved at once by the 4:2:0 to 4:2:0 path. Measured for 1080p NV12 to I420 against libswscale (which
    // copies the luma plane whole, then deinterleaves chroma row by row): whole planes 0.83-0.90x, bands of 4 to 64
    // pairs 0.86-1.0x, of 128 to 270 pairs 1.0-1.18x.
    private const int BandPairs = 128;

    private readonly ImageLayout _source;
    private readonly ImageLayout _destination;
    private readonly SimdLevel _level;
    private readonly int _width;
    private readonly int _height;
    private readonly int _cropX;
    private readonly int _cropY;
    private readonly bool _compress;

    // Row scratch: a chroma row (interleaved CbCr, or Cb then Cr), two luma rows and one interleaved chroma row.
    private readonly byte[] _chroma0;
    private readonly byte[] _luma0;
    private readonly byte[] _luma1;
    private readonly byte[] _interleaved;

    public UnscaledConverter(ImageLayout source, CropRegion crop, ImageLayout destination, SimdLevel level)
    {
        if (!Supports(source, crop, destination))
        {
            throw new ArgumentException($"No unscaled conversion from {source.Kind} ({crop}) to {destination.Kind}.");
        }

        (_source, _destination, _level) = (source, destination, level);
        (_width, _height, _cropX, _cropY) = (destination.Width, destination.Height, crop.X, crop.Y);
        _compress = source.FullRange && !destination.FullRange;
        _chroma0 = new byte[_width];
        _luma0 = new byte[_width];
        _luma1 = new byte[_width];
        _interleaved = new byte[_width];
    }

    // A row kernel of two inputs (ChromaKernels.Average or Interpolate), applied per chroma plane by Combine.
    private delegate void RowOperation(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> destination, SimdLevel level);

    public static bool Supports(ImageLayout source, CropRegion crop, ImageLayout destination) =>
        crop.Width == destination.Width && crop.Height == destination.Height
        && crop.X % 2 == 0 && crop.Y % 2 == 0
        && source.Kind is ImageKind.Yuyv or ImageKind.Uyvy or ImageKind.Nv12 or ImageKind.I420 or ImageKind.I422
        && destination.Kind is ImageKind.Yuyv or ImageKind.Nv12 or ImageKind.I420
        && !destination.FullRange
        && !(source.FullRange && source.Kind is ImageKind.Yuyv or ImageKind.Uyvy);

    public void Convert(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (_source.Kind is ImageKind.Nv12 or ImageKind.I420 && _destination.Kind != ImageKind.Yuyv && !_compress)
        {
            Convert420(source, destination);
            return;
        }

        var packed = _source.Kind is ImageKind.Yuyv or ImageKind.Uyvy;
        for (var pair = 0; pair < _height / 2; pair++)
        {
            if (packed)
            {
                ConvertPackedPair(source, destination, pair);
            }
            else
            {
                ConvertPlanarPair(source, destination, pair);
            }
        }
    }

    // Limited-range 4:2:0 to 4:2:0 (an NV12 or I420 camera to an NV12 or I420 guest): every chroma row maps to one
    // chroma row, so each plane is moved as it is, a copy or a (de)interleave, in bands of row pairs (BandPairs):
    // within a band the luma rows and the chroma rows are each one block wherever the source rows are contiguous (no
    // crop across, no row padding), which spares a call per row.
    private void Convert420(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var (pairs, half) = (_height / 2, _width / 2);
        for (var band = 0; band < pairs; band += BandPairs)
        {
            var n = Math.Min(BandPairs, pairs - band);
            Copy(source, 0, 2 * band, _cropX, destination, 0, 2 * n, _width);
            switch ((_source.Kind, _destination.Kind))
            {
                case (ImageKind.Nv12, ImageKind.Nv12):
                    Copy(source, 1, band, _cropX, destination, 1, n, _width);
                    break;
                case (ImageKind.I420, ImageKind.I420):
                    Copy(source, 1, band, _cropX / 2, destination, 1, n, half);
                    Copy(source, 2, band, _cropX / 2, destination, 2, n, half);
                    break;
                case (ImageKind.Nv12, _):
                    var (from, cb, cr) = (_source.Plane(1), _destination.Plane(1), _destination.Plane(2));
                    var block = Contiguous(from, _width) ? n : 1;
                    for (var row = band; row < band + n; row += block)
                    {
                        InterleaveKernels.Split(
                            from.Block(source, (_cropY / 2) + row, _cropX, _width, block), cb.Block(destination, row, half, block),
                            cr.Block(destination, row, half, block), _level);
                    }

                    break;
                default:
                    var (blue, red, to) = (_source.Plane(1), _source.Plane(2), _destination.Plane(1));
                    for (var row = band; row < band + n; row++)
                    {
                        InterleaveKernels.Zip(
                            blue.Row(source, (_cropY / 2) + row, _cropX / 2, half), red.Row(source, (_cropY / 2) + row, _cropX / 2, half),
                            to.Row(destination, row, 0, _width), _level);
                    }

                    break;
            }
        }
    }

    // Rows [row, row + rows) of the crop in a source plane, `count` bytes each from `start`, into the same rows of a
    // packed destination plane: one copy when the source rows are back to back.
    private void Copy(ReadOnlySpan<byte> source, int plane, int row, int start, Span<byte> destination, int target, int rows, int count)
    {
        var (from, to) = (_source.Plane(plane), _destination.Plane(target));
        var first = (plane == 0 ? _cropY : _cropY / 2) + row;
        var block = Contiguous(from, count) ? rows : 1;
        for (var r = 0; r < rows; r += block)
        {
            from.Block(source, first + r, start, count, block).CopyTo(to.Block(destination, row + r, count, block));
        }
    }

    // Whether `count` bytes of every row are the whole row, with no padding: consecutive rows are then one block.
    private static bool Contiguous(PlaneLayout plane, int count) => plane.Stride == count;

    private void ConvertPackedPair(ReadOnlySpan<byte> source, Span<byte> destination, int pair)
    {
        var plane = _source.Plane(0);
        var row0 = plane.Row(source, _cropY + (2 * pair), 2 * _cropX, 2 * _width);
        var row1 = plane.Row(source, _cropY + (2 * pair) + 1, 2 * _cropX, 2 * _width);
        var yuyvSource = _source.Kind == ImageKind.Yuyv;
        if (_destination.Kind == ImageKind.Yuyv)
        {
            var target = _destination.Plane(0);
            CopyOrSwap(row0, target.Row(destination, 2 * pair, 0, 2 * _width), yuyvSource);
            CopyOrSwap(row1, target.Row(destination, (2 * pair) + 1, 0, 2 * _width), yuyvSource);
            return;
        }

        // Both rows' luma straight into the destination's Y rows, their averaged chroma straight into its chroma row(s).
        var luma = _destination.Plane(0);
        var y0 = luma.Row(destination, 2 * pair, 0, _width);
        var y1 = luma.Row(destination, (2 * pair) + 1, 0, _width);
        if (_destination.Kind == ImageKind.Nv12)
        {
            PackedTo420Kernel.Convert(row0, row1, y0, y1, _destination.Plane(1).Row(destination, pair, 0, _width), default, yuyvSource, _level);
        }
        else
        {
            PackedTo420Kernel.Convert(row0, row1, y0, y1, CbRow(destination, pair), CrRow(destination, pair), yuyvSource, _level);
        }
    }

    private void CopyOrSwap(ReadOnlySpan<byte> row, Span<byte> target, bool copy)
    {
        if (copy)
        {
            row.CopyTo(target);
        }
        else
        {
            InterleaveKernels.SwapPairs(row, target, _level);
        }
    }

    private void ConvertPlanarPair(ReadOnlySpan<byte> source, Span<byte> destination, int pair)
    {
        var luma = _source.Plane(0);
        var toYuyv = _destination.Kind == ImageKind.Yuyv;
        ReadOnlySpan<byte> luma0 = default, luma1 = default;
        for (var j = 0; j < 2; j++)
        {
            var y = (2 * pair) + j;
            var row = luma.Row(source, _cropY + y, _cropX, _width);
            if (toYuyv)
            {
                // Packed output interleaves luma with chroma below; compress into scratch first if needed.
                var scratch = j == 0 ? _luma0 : _luma1;
                if (_compress)
                {
                    RangeCompression.CompressLuma(row, scratch, _level);
                    row = scratch;
                }

                (j == 0 ? ref luma0 : ref luma1) = row;
            }
            else
            {
                var target = _destination.Plane(0).Row(destination, y, 0, _width);
                if (_compress)
                {
                    RangeCompression.CompressLuma(row, target, _level);
                }
                else
                {
                    row.CopyTo(target);
                }
            }
        }

        if (toYuyv)
        {
            WritePackedRow(destination, 2 * pair, luma0, ChromaFor422Row(source, pair, 0));
            WritePackedRow(destination, (2 * pair) + 1, luma1, ChromaFor422Row(source, pair, 1));
            return;
        }

        // 4:2:0 destination: one chroma row per pair.
        var chroma = _source.ChromaShiftY == 1
            ? SourceChroma(source, (_cropY / 2) + pair)
            : Combine(SourceChroma(source, _cropY + (2 * pair)), SourceChroma(source, _cropY + (2 * pair) + 1), _chroma0, ChromaKernels.Average);
        chroma = Compressed(chroma, _chroma0);
        if (_destination.Kind == ImageKind.Nv12)
        {
            var target = _destination.Plane(1).Row(destination, pair, 0, _width);
            if (chroma.Interleaved)
            {
                chroma.First.CopyTo(target);
            }
            else
            {
                InterleaveKernels.Zip(chroma.First, chroma.Second, target, _level);
            }
        }
        else if (chroma.Interleaved)
        {
            InterleaveKernels.Split(chroma.First, CbRow(destination, pair), CrRow(destination, pair), _level);
        }
        else
        {
            chroma.First.CopyTo(CbRow(destination, pair));
            chroma.Second.CopyTo(CrRow(destination, pair));
        }
    }

    // The chroma of luma row 2 * pair + j for a 4:2:2 destination: the source's own row (4:2:2 source), or the
    // interpolation between the chroma row of the pair and its neighbour on row j's side (4:2:0 source).
    private Chroma ChromaFor422Row(ReadOnlySpan<byte> source, int pair, int j)
    {
        Chroma chroma;
        if (_source.ChromaShiftY == 0)
        {
            chroma = SourceChroma(source, _cropY + (2 * pair) + j);
        }
        else
        {
            var neighbour = Math.Clamp(j == 0 ? pair - 1 : pair + 1, 0, (_height / 2) - 1);
            chroma = Combine(
                SourceChroma(source, (_cropY / 2) + pair), SourceChroma(source, (_cropY / 2) + neighbour), _chroma0, ChromaKernels.Interpolate);
        }

        return Compressed(chroma, _chroma0);
    }

    private void WritePackedRow(Span<byte> destination, int y, ReadOnlySpan<byte> luma, Chroma chroma)
    {
        var interleaved = chroma.First;
        if (!chroma.Interleaved)
        {
            InterleaveKernels.Zip(chroma.First, chroma.Second, _interleaved, _level);
            interleaved = _interleaved;
        }

        InterleaveKernels.Zip(luma, interleaved, _destination.Plane(0).Row(destination, y, 0, 2 * _width), _level);
    }

    // Row `row` of the source's chroma, cropped: NV12's interleaved row, or the Cb and Cr rows.
    private Chroma SourceChroma(ReadOnlySpan<byte> source, int row)
    {
        if (_source.Kind == ImageKind.Nv12)
        {
            return new Chroma(_source.Plane(1).Row(source, row, _cropX, _width), default);
        }

        var half = _width / 2;
        return new Chroma(_source.Plane(1).Row(source, row, _cropX / 2, half), _source.Plane(2).Row(source, row, _cropX / 2, half));
    }

    private Chroma Combine(Chroma a, Chroma b, byte[] scratch, RowOperation operation)
    {
        Targets(scratch, a.Interleaved, out var first, out var second);
        operation(a.First, b.First, first, _level);
        if (!a.Interleaved)
        {
            operation(a.Second, b.Second, second, _level);
        }

        return new Chroma(first, second);
    }

    private Chroma Compressed(Chroma chroma, byte[] scratch)
    {
        if (!_compress)
        {
            return chroma;
        }

        Targets(scratch, chroma.Interleaved, out var first, out var second);
        RangeCompression.CompressChroma(chroma.First, first, _level);
        if (!chroma.Interleaved)
        {
            RangeCompression.CompressChroma(chroma.Second, second, _level);
        }

        return new Chroma(first, second);
    }

    private void Targets(byte[] scratch, bool interleaved, out Span<byte> first, out Span<byte> second)
    {
        first = scratch.AsSpan(0, interleaved ? _width : _width / 2);
        second = interleaved ? default : scratch.AsSpan(_width / 2, _width / 2);
    }

    private Span<byte> CbRow(Span<byte> destination, int row) => _destination.Plane(1).Row(destination, row, 0, _width / 2);

    private Span<byte> CrRow(Span<byte> destination, int row) => _destination.Plane(2).Row(destination, row, 0, _width / 2);

    // One chroma row: interleaved CbCr (NV12) in First with Second empty, or separate Cb (First) and Cr (Second).
    private readonly ref struct Chroma(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        public ReadOnlySpan<byte> First { get; } = first;

        public ReadOnlySpan<byte> Second { get; } = second;

        public bool Interleaved => Second.IsEmpty;
    }
}
