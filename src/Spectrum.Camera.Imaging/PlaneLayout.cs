namespace Spectrum.Camera.Imaging;

/// <summary>One plane of an <see cref="ImageLayout"/>: where it starts, its stride, its rows and its visible bytes per row.</summary>
internal readonly record struct PlaneLayout(int Offset, int Stride, int Rows, int RowBytes)
{
    /// <summary>One past the last byte the plane's visible rows use.</summary>
    public long End => Offset + ((long)Stride * (Rows - 1)) + RowBytes;

    /// <summary>Bytes [<paramref name="start"/>, +<paramref name="count"/>) of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<byte> Row(ReadOnlySpan<byte> image, int row, int start, int count) =>
        image.Slice(Offset + (row * Stride) + start, count);

    /// <summary>Bytes [<paramref name="start"/>, +<paramref name="count"/>) of row <paramref name="row"/>.</summary>
    public Span<byte> Row(Span<byte> image, int row, int start, int count) =>
        image.Slice(Offset + (row * Stride) + start, count);
}
