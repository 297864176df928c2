namespace Spectrum.Camera.Imaging;

/// <summary>
/// The plain, per-sample definition of the scaler: what <see cref="ScaledConverter"/> must produce bit for bit.
/// Each destination sample is computed on its own from the filter taps (<see cref="FilterAxis"/>), with the same
/// integer arithmetic: column sums with 8 fractional bits, then the row sum rounded once, then the range table.
/// </summary>
internal static class ScalarReferenceScaler
{
    public static void Convert(ImageLayout source, ReadOnlySpan<byte> src, CropRegion crop, ImageLayout destination, Span<byte> dst)
    {
        var compress = source.FullRange && !destination.FullRange;
        for (var c = 0; c < 3; c++)
        {
            var (width, height) = (destination.ComponentWidth(c, destination.Width), destination.ComponentHeight(c, destination.Height));
            if (c > 0 && !source.HasChroma)
            {
                Fill(destination, dst, c, width, height, 128);
                continue;
            }

            var originX = c == 0 ? crop.X : crop.X >> source.ChromaShiftX;
            var originY = c == 0 ? crop.Y : crop.Y >> source.ChromaShiftY;
            var horizontal = FilterAxis.Create(source.ComponentWidth(c, crop.Width), width);
            var vertical = FilterAxis.Create(source.ComponentHeight(c, crop.Height), height);
            var map = RangeCompression.Table(c, compress);
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var sum = 0;
                    for (var h = 0; h < horizontal.Taps; h++)
                    {
                        var column = 0;
                        for (var v = 0; v < vertical.Taps; v++)
                        {
                            var sample = source.Sample(src, c, originX + horizontal.Starts[x] + h, originY + vertical.Starts[y] + v);
                            column += vertical.WeightsOf(y)[v] * sample;
                        }

                        sum += horizontal.WeightsOf(x)[h] * column;
                    }

                    destination.SetSample(dst, c, x, y, map[(sum + (1 << 15)) >> 16]);
                }
            }
        }
    }

    private static void Fill(ImageLayout layout, Span<byte> image, int component, int width, int height, byte value)
    {
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                layout.SetSample(image, component, x, y, value);
            }
        }
    }
}
