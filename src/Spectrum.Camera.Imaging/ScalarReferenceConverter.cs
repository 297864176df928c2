namespace Spectrum.Camera.Imaging;

/// <summary>
/// The plain, per-sample definition of every unscaled conversion (crop the size of the destination, 4:2:x source
/// and destination): what <see cref="UnscaledConverter"/> must produce bit for bit. Written for clarity, not speed,
/// and sharing no code with the fast path beyond the layout description and the range tables.
/// </summary>
/// <remarks>
/// Rules, sample by sample: luma is copied; chroma is copied when source and destination have the same vertical
/// subsampling; 4:2:2 to 4:2:0 is <c>(a + b + 1) >> 1</c> of the two rows; 4:2:0 to 4:2:2 is
/// <c>(3 near + far + 2) >> 2</c>, far being the neighbouring chroma row on the luma row's side, clamped to the crop.
/// Full-range sources are then mapped to limited range.
/// </remarks>
internal static class ScalarReferenceConverter
{
    public static bool Supports(ImageLayout source, CropRegion crop, ImageLayout destination) =>
        crop.Width == destination.Width && crop.Height == destination.Height && crop.X % 2 == 0 && crop.Y % 2 == 0
        && source.HasChroma && source.ChromaShiftX == 1 && destination.ChromaShiftX == 1 && !destination.FullRange;

    public static void Convert(ImageLayout source, ReadOnlySpan<byte> src, CropRegion crop, ImageLayout destination, Span<byte> dst)
    {
        if (!Supports(source, crop, destination))
        {
            throw new ArgumentException("Not an unscaled 4:2:x conversion.");
        }

        var compress = source.FullRange;
        var (width, height) = (destination.Width, destination.Height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var value = source.Sample(src, 0, crop.X + x, crop.Y + y);
                destination.SetSample(dst, 0, x, y, compress ? RangeCompression.Luma(value) : value);
            }
        }

        var chromaRows = destination.ComponentHeight(1, height);
        var sourceChromaRows = source.ComponentHeight(1, height);
        var firstRow = source.ComponentHeight(1, crop.Y);
        for (var c = 1; c < 3; c++)
        {
            for (var y = 0; y < chromaRows; y++)
            {
                for (var x = 0; x < width / 2; x++)
                {
                    var column = (crop.X / 2) + x;
                    int value;
                    if (source.ChromaShiftY == destination.ChromaShiftY)
                    {
                        value = Chroma(source, src, c, column, firstRow, sourceChromaRows, y);
                    }
                    else if (source.ChromaShiftY == 0)
                    {
                        value = (Chroma(source, src, c, column, firstRow, sourceChromaRows, 2 * y)
                            + Chroma(source, src, c, column, firstRow, sourceChromaRows, (2 * y) + 1) + 1) >> 1;
                    }
                    else
                    {
                        var near = y / 2;
                        var far = y % 2 == 0 ? near - 1 : near + 1;
                        value = ((3 * Chroma(source, src, c, column, firstRow, sourceChromaRows, near))
                            + Chroma(source, src, c, column, firstRow, sourceChromaRows, far) + 2) >> 2;
                    }

                    destination.SetSample(dst, c, x, y, compress ? RangeCompression.Chroma((byte)value) : (byte)value);
                }
            }
        }
    }

    // Chroma sample `row` of the crop (clamped into it) in column `column`.
    private static int Chroma(ImageLayout source, ReadOnlySpan<byte> src, int component, int column, int firstRow, int rows, int row) =>
        source.Sample(src, component, column, firstRow + Math.Clamp(row, 0, rows - 1));
}
