namespace Spectrum.Camera.Imaging;

/// <summary>
/// One configured conversion from a source layout (cropped) to a destination layout. Implementations hold every
/// buffer they need from construction on, so <see cref="Convert"/> allocates nothing.
/// </summary>
internal interface IImageConverter
{
    /// <summary>
    /// Converts a whole frame. <paramref name="source"/> must hold the source layout's
    /// <see cref="ImageLayout.RequiredLength"/> bytes and <paramref name="destination"/> the destination's.
    /// </summary>
    void Convert(ReadOnlySpan<byte> source, Span<byte> destination);

    /// <summary>
    /// The fast row pipeline when the crop is already the destination size and both layouts are ones it knows, else
    /// the scaler vectorised in both passes when it takes the pair, otherwise the general scaler.
    /// </summary>
    static IImageConverter Create(ImageLayout source, CropRegion crop, ImageLayout destination, SimdLevel level) =>
        UnscaledConverter.Supports(source, crop, destination)
            ? new UnscaledConverter(source, crop, destination, level)
            : VectorScaledConverter.TryCreate(source, crop, destination, level)
                ?? (IImageConverter)new ScaledConverter(source, crop, destination, level);
}
