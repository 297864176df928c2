namespace Spectrum.Camera.Imaging;

/// <summary>
/// The part of a camera frame that is converted: a rectangle in source pixels. Everything outside it is ignored,
/// and the rectangle is treated as the whole picture (edge pixels are repeated, never pixels from outside).
/// </summary>
public readonly record struct CropRegion(int X, int Y, int Width, int Height)
{
    /// <summary>
    /// The largest centred rectangle of <paramref name="sourceWidth"/> x <paramref name="sourceHeight"/> with the
    /// aspect ratio of <paramref name="destinationWidth"/> x <paramref name="destinationHeight"/>: a 16:9 camera
    /// frame loses its sides for a 4:3 guest, a 4:3 frame loses its top and bottom for a 16:9 guest. Cropping keeps
    /// the picture undistorted and fills the whole guest frame (no letterbox bars that a video call would send).
    /// </summary>
    /// <remarks>
    /// Size and origin are rounded to even numbers so that the rectangle starts and ends on a chroma sample of every
    /// 4:2:x format; the picture can therefore sit at most one pixel off centre. A source whose aspect is within
    /// that rounding of the destination's is not cropped at all.
    /// </remarks>
    public static CropRegion Centered(int sourceWidth, int sourceHeight, int destinationWidth, int destinationHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceWidth, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceHeight, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(destinationWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(destinationHeight, 1);

        // Compare sw/sh with dw/dh without division; 64-bit products cannot overflow for int sizes.
        var sourceWider = (long)sourceWidth * destinationHeight > (long)destinationWidth * sourceHeight;
        if (sourceWider)
        {
            var width = EvenAtLeastTwo((long)sourceHeight * destinationWidth, destinationHeight, sourceWidth);
            return new CropRegion(((sourceWidth - width) / 2) & ~1, 0, width, sourceHeight & ~1);
        }

        var height = EvenAtLeastTwo((long)sourceWidth * destinationHeight, destinationWidth, sourceHeight);
        return new CropRegion(0, ((sourceHeight - height) / 2) & ~1, sourceWidth & ~1, height);
    }

    // numerator/denominator rounded to the nearest even number, kept within [2, limit rounded down to even].
    private static int EvenAtLeastTwo(long numerator, long denominator, int limit)
    {
        var even = 2 * ((numerator + denominator) / (2 * denominator));
        return (int)Math.Clamp(even, 2, limit & ~1);
    }

    /// <summary>"640x480+80+0", for logs and test names.</summary>
    public override string ToString() => FormattableString.Invariant($"{Width}x{Height}+{X}+{Y}");
}
