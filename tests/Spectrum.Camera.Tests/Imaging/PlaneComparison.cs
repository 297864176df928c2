using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>How far two frames of one layout are apart, per component (Y, Cb, Cr): largest difference and PSNR.</summary>
internal readonly record struct PlaneComparison(int[] MaxDifference, double[] Psnr)
{
    /// <summary>Compares the first <paramref name="components"/> components (1 for greyscale) of two frames of one layout.</summary>
    public static PlaneComparison Of(ImageLayout layout, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, int components = 3) =>
        Of(layout, layout, expected, actual, components);

    /// <summary>Compares two frames of the same size and sampling held in different layouts (e.g. YUYV and planar 4:2:2).</summary>
    public static PlaneComparison Of(
        ImageLayout expectedLayout, ImageLayout layout, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, int components = 3)
    {
        var max = new int[components];
        var psnr = new double[components];
        for (var c = 0; c < components; c++)
        {
            var (w, h) = (layout.ComponentWidth(c, layout.Width), layout.ComponentHeight(c, layout.Height));
            double squares = 0;
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++)
                {
                    var d = Math.Abs(expectedLayout.Sample(expected, c, x, y) - layout.Sample(actual, c, x, y));
                    max[c] = Math.Max(max[c], d);
                    squares += d * d;
                }
            }

            var mse = squares / (w * h);
            psnr[c] = mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / mse);
        }

        return new PlaneComparison(max, psnr);
    }

    public override string ToString()
    {
        var psnr = Psnr;
        return string.Join("; ", MaxDifference.Select((max, c) => FormattableString.Invariant($"{Names[c]} max |d| {max}, PSNR {psnr[c]:F1} dB")));
    }

    private static readonly string[] Names = ["Y", "Cb", "Cr"];
}
