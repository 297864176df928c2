namespace Spectrum.Camera.Imaging;

/// <summary>
/// The general path: crop, scale and convert any <see cref="ImageLayout"/> to any other in one pass per component
/// group, with the separable filters of <see cref="FilterAxis"/> (area when shrinking, bilinear when enlarging). Used
/// for what <see cref="VectorScaledConverter"/> does not take (4:2:0 cameras and JPEG planes to a scaled YUYV guest,
/// greyscale JPEGs); same output, bit for bit, as both follow <see cref="ScalarReferenceScaler"/>.
/// </summary>
/// <remarks>
/// <para>Each destination row is made in two steps that never leave the cache: the vertical pass
/// (<see cref="VerticalFilterKernel"/>, SIMD) sums the few source rows under it into a 16-bit row, and the
/// horizontal pass (<see cref="HorizontalFilterKernel"/>) filters each component out of that row and stores it
/// straight at its place in the destination (interleaved into YUYV or NV12 as it goes). So the source is read once
/// per destination row it contributes to and the destination written once; there is no intermediate frame.</para>
/// <para>Components that live in the same source plane and need the same source rows share one vertical pass:
/// YUYV to YUYV filters each packed row once for Y, Cb and Cr; YUYV to NV12 needs one pass for luma rows and another
/// for the (half as many) chroma rows.</para>
/// <para>Chroma planes are resampled on their own grids, i.e. as if sited at the centre of the luma samples they
/// cover (JPEG's siting; MPEG-2's left-sited chroma lands a fraction of a chroma sample off).</para>
/// </remarks>
internal sealed class ScaledConverter : IImageConverter
{
    private readonly ImageLayout _source;
    private readonly ImageLayout _destination;
    private readonly SimdLevel _level;
    private readonly List<Pass> _passes = [];
    private readonly List<int> _neutralComponents = [];

    public ScaledConverter(ImageLayout source, CropRegion crop, ImageLayout destination, SimdLevel level)
    {
        _source = source;
        _destination = destination;
        _level = level;
        var compress = source.FullRange && !destination.FullRange;
        var axes = new Dictionary<(int, int), FilterAxis>();
        FilterAxis Axis(int from, int to) =>
            axes.TryGetValue((from, to), out var axis) ? axis : axes[(from, to)] = FilterAxis.Create(from, to);

        for (var c = 0; c < 3; c++)
        {
            if (c > 0 && !source.HasChroma)
            {
                _neutralComponents.Add(c);
                continue;
            }

            var originX = c == 0 ? crop.X : crop.X >> source.ChromaShiftX;
            var originY = c == 0 ? crop.Y : crop.Y >> source.ChromaShiftY;
            var vertical = Axis(source.ComponentHeight(c, crop.Height), destination.ComponentHeight(c, destination.Height));
            var horizontal = Axis(source.ComponentWidth(c, crop.Width), destination.ComponentWidth(c, destination.Width));
            var plane = source.Component(c).Plane;
            var pass = _passes.Find(p => p.Plane == plane && p.OriginY == originY && p.Vertical == vertical);
            if (pass is null)
            {
                pass = new Pass(plane, originY, vertical);
                _passes.Add(pass);
            }

            pass.Outputs.Add(new Output(source.Component(c), originX, horizontal, destination.Component(c), RangeCompression.Table(c, compress).ToArray()));
        }

        foreach (var pass in _passes)
        {
            pass.Complete();
        }
    }

    public void Convert(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        foreach (var pass in _passes)
        {
            Run(pass, source, destination);
        }

        foreach (var c in _neutralComponents)
        {
            // A greyscale source: neutral chroma, 128 in either range.
            var (w, h) = (_destination.ComponentWidth(c, _destination.Width), _destination.ComponentHeight(c, _destination.Height));
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++)
                {
                    _destination.SetSample(destination, c, x, y, 128);
                }
            }
        }
    }

    private void Run(Pass pass, ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var plane = _source.Plane(pass.Plane);
        var acc = pass.Accumulator.AsSpan();
        var vertical = pass.Vertical;
        for (var row = 0; row < vertical.DestinationLength; row++)
        {
            var weights = vertical.WeightsOf(row);
            var first = true;
            for (var t = 0; t < weights.Length; t++)
            {
                if (weights[t] == 0)
                {
                    continue;
                }

                var src = plane.Row(source, pass.OriginY + vertical.Starts[row] + t, pass.ByteStart, acc.Length);
                if (first)
                {
                    VerticalFilterKernel.Set(src, weights[t], acc, _level);
                    first = false;
                }
                else
                {
                    VerticalFilterKernel.Add(src, weights[t], acc, _level);
                }
            }

            foreach (var output in pass.Outputs)
            {
                var target = _destination.Plane(output.Target.Plane);
                HorizontalFilterKernel.Apply(
                    acc, output.Starts, output.Horizontal.Weights, output.Horizontal.Taps, output.Source.Step,
                    target.Row(destination, row, 0, target.RowBytes), output.Target.Offset, output.Target.Step, output.Map);
            }
        }
    }

    /// <summary>One vertical pass: a source plane, the first source row, the vertical filter, and what it feeds.</summary>
    private sealed class Pass(int plane, int originY, FilterAxis vertical)
    {
        public int Plane { get; } = plane;

        public int OriginY { get; } = originY;

        public FilterAxis Vertical { get; } = vertical;

        public List<Output> Outputs { get; } = [];

        /// <summary>The first byte of each source row the pass reads (the leftmost sample of any of its components).</summary>
        public int ByteStart { get; private set; }

        public ushort[] Accumulator { get; private set; } = [];

        // Reads only the bytes the outputs' samples span, and points each output's taps into that window.
        public void Complete()
        {
            ByteStart = Outputs.Min(o => o.FirstByte);
            Accumulator = new ushort[Outputs.Max(o => o.EndByte) - ByteStart];
            foreach (var output in Outputs)
            {
                output.Starts = output.Horizontal.Starts
                    .Select(s => ((output.OriginX + s) * output.Source.Step) + output.Source.Offset - ByteStart)
                    .ToArray();
            }
        }
    }

    /// <summary>One component of a pass: where it is in the source row, its horizontal filter, where it goes.</summary>
    private sealed class Output(ComponentLayout source, int originX, FilterAxis horizontal, ComponentLayout target, byte[] map)
    {
        public ComponentLayout Source { get; } = source;

        public int OriginX { get; } = originX;

        public FilterAxis Horizontal { get; } = horizontal;

        public ComponentLayout Target { get; } = target;

        public byte[] Map { get; } = map;

        public int[] Starts { get; set; } = [];

        public int FirstByte => (OriginX * Source.Step) + Source.Offset;

        public int EndByte => ((OriginX + Horizontal.SourceLength - 1) * Source.Step) + Source.Offset + 1;
    }
}
