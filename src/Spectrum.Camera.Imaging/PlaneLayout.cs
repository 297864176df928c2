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

    /// <summary>
    /// Rows [<paramref name="row"/>, +<paramref name="rows"/>) as one span, <paramref name="count"/> bytes each from
    /// <paramref name="start"/>: the caller has checked that they are back to back (<see cref="Stride"/> equals
    /// <paramref name="count"/>), or asks for one row.
    /// </summary>
    public ReadOnlySpan<byte> Block(ReadOnlySpan<byte> image, int row, int start, int count, int rows) =>
        image.Slice(Offset + (row * Stride) + start, ((rows - 1) * Stride) + count);

    /// <summary>Rows [<paramref name="row"/>, +<paramref name="rows"/>) of a packed plane (stride <paramref name="count"/>) as one span.</summary>
    public Span<byte> Block(Span<byte> image, int row, int count, int rows) =>
        image.Slice(Offset + (row * Stride), ((rows - 1) * Stride) + count);
}
