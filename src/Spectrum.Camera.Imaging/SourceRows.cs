namespace Spectrum.Camera.Imaging;

/// <summary>
/// The rows a scaler pass filters at once: one per plane of the pass (a packed or luma plane alone; NV12's chroma plane;
/// I420's two chroma planes; a JPEG's three 4:2:2 or 4:4:4 planes), each from its first byte.
/// </summary>
internal readonly ref struct SourceRows(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second = default, ReadOnlySpan<byte> third = default)
{
    private readonly ReadOnlySpan<byte> _first = first;
    private readonly ReadOnlySpan<byte> _second = second;
    private readonly ReadOnlySpan<byte> _third = third;

    /// <summary>The row of pass plane <paramref name="plane"/> (0, 1 or 2).</summary>
    public ReadOnlySpan<byte> this[int plane] => plane switch
    {
        0 => _first,
        1 => _second,
        _ => _third,
    };
}
