using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// Turns the frames of one host camera mode into frames of one guest format: decodes MJPEG, centre-crops to the
/// guest's aspect ratio (<see cref="CropRegion.Centered"/>), scales (area filter down, bilinear up) and converts
/// to YUYV, NV12 or YU12 in limited range, touching each frame as few times as the formats allow.
/// </summary>
/// <remarks>
/// <para>Configure one per (camera mode, guest format) and reuse it: everything it needs (decode planes, filter
/// tables, row scratch) is allocated here, and <see cref="Convert(ReadOnlySpan{byte}, Span{byte})"/> allocates
/// nothing. A new mode or guest format means a new converter.</para>
/// <para>One camera frame converted into several guest formats is decoded once when their converters share a
/// <see cref="SharedMjpegDecoder"/> and each frame is passed with its identity
/// (<see cref="Convert(ReadOnlySpan{byte}, ulong, Span{byte})"/>); made without one, a converter decodes every frame
/// itself.</para>
/// <para>Bad frames (a short raw buffer, a corrupt or truncated JPEG, a JPEG of another size) are dropped: the call
/// returns the reason and counts it, nothing is thrown, and the caller shows the previous frame or black. Only
/// programming errors throw (a destination smaller than the guest frame, use after <see cref="Dispose"/>).</para>
/// <para>The output is always raw pixels written by this library; no byte of a camera's JPEG reaches the
/// destination.</para>
/// <para>Not thread-safe: one camera thread converts. The counters may be read from any thread.</para>
/// </remarks>
public sealed class FrameConverter : IDisposable
{
    private readonly ImageLayout _destinationLayout;
    private readonly IImageConverter? _raw;
    private readonly int _rawLength;
    private readonly SharedMjpegDecoder? _decoder;
    private readonly bool _ownsDecoder;
    private readonly IImageConverter?[] _jpeg = [];
    private readonly long[] _counts = new long[Enum.GetValues<ConversionResult>().Length];
    private byte[]? _frame;
    private bool _disposed;

    /// <summary>A converter from <paramref name="source"/> frames to <paramref name="destination"/> frames.</summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="source"/> is not a supported, consistent host format, or <paramref name="destination"/> is
    /// not a valid guest format.
    /// </exception>
    /// <exception cref="InvalidOperationException">MJPEG was asked for and libturbojpeg cannot be loaded.</exception>
    public FrameConverter(HostFrameFormat source, FrameFormat destination)
        : this(source, destination, SimdCapabilities.Best, decoder: null)
    {
    }

    /// <summary>
    /// A converter from MJPEG frames of <paramref name="source"/>'s mode to <paramref name="destination"/> frames that
    /// decodes through <paramref name="decoder"/>, shared with the mode's other converters (and not disposed by this
    /// one).
    /// </summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="source"/> is not an MJPEG mode of the decoder's size, or <paramref name="destination"/> is not
    /// a valid guest format.
    /// </exception>
    public FrameConverter(HostFrameFormat source, FrameFormat destination, SharedMjpegDecoder decoder)
        : this(source, destination, SimdCapabilities.Best, decoder ?? throw new ArgumentNullException(nameof(decoder)))
    {
    }

    internal FrameConverter(HostFrameFormat source, FrameFormat destination, SimdLevel level, SharedMjpegDecoder? decoder = null)
    {
        source.Validate();
        _destinationLayout = ImageLayout.ForGuest(destination);
        Source = source;
        Destination = destination;
        Crop = CropRegion.Centered(source.Width, source.Height, (int)destination.Width, (int)destination.Height);
        if (HostPixelFormats.IsJpeg(source.PixelFormat))
        {
            if (decoder is not null && (decoder.Width != source.Width || decoder.Height != source.Height))
            {
                throw new ArgumentException(
                    $"The shared decoder decodes {decoder.Width}x{decoder.Height} frames, not the {source.Width}x{source.Height} of {source}.",
                    nameof(decoder));
            }

            _ownsDecoder = decoder is null;
            _decoder = decoder ?? new SharedMjpegDecoder(source.Width, source.Height);
            _jpeg = Enum.GetValues<JpegSubsampling>()
                .Select(s => _decoder.LayoutFor(s) is { } layout ? IImageConverter.Create(layout, Crop, _destinationLayout, level) : null)
                .ToArray();
        }
        else if (decoder is not null)
        {
            throw new ArgumentException($"A shared MJPEG decoder was given for {source}, which is not MJPEG.", nameof(decoder));
        }
        else
        {
            var layout = ImageLayout.ForHost(source);
            _raw = IImageConverter.Create(layout, Crop, _destinationLayout, level);
            _rawLength = layout.RequiredLength;
        }
    }

    public HostFrameFormat Source { get; }

    public FrameFormat Destination { get; }

    /// <summary>The part of each camera frame that is used (all of it when the aspect ratios match).</summary>
    public CropRegion Crop { get; }

    /// <summary>Whether frames are resized (the crop differs from the guest size), as opposed to only converted.</summary>
    public bool Scales => Crop.Width != Destination.Width || Crop.Height != Destination.Height;

    /// <summary>The bytes a raw source frame must have (0 for MJPEG, whose frames vary in size).</summary>
    public int MinimumSourceLength => _rawLength;

    /// <summary>Frames converted so far.</summary>
    public long ConvertedFrames => Volatile.Read(ref _counts[(int)ConversionResult.Converted]);

    /// <summary>Frames dropped so far, for any reason.</summary>
    public long DroppedFrames
    {
        get
        {
            long dropped = 0;
            for (var reason = 1; reason < _counts.Length; reason++)
            {
                dropped += Volatile.Read(ref _counts[reason]);
            }

            return dropped;
        }
    }

    /// <summary>
    /// libjpeg-turbo's message for the last dropped MJPEG frame (empty for raw sources); valid until the next frame.
    /// With a shared decoder, the last frame any of its converters dropped.
    /// </summary>
    public string LastJpegError => _decoder?.LastError ?? string.Empty;

    /// <summary>Frames dropped so far for <paramref name="reason"/>.</summary>
    public long DroppedFramesFor(ConversionResult reason) =>
        reason == ConversionResult.Converted ? 0 : Volatile.Read(ref _counts[(int)reason]);

    /// <summary>
    /// Converts one camera frame into <paramref name="destination"/>, laid out as the guest format (its planes back
    /// to back, no padding: <see cref="FrameFormat.SizeImage"/> bytes). On anything but
    /// <see cref="ConversionResult.Converted"/> the destination's contents are unspecified.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is smaller than the guest frame.</exception>
    public ConversionResult Convert(ReadOnlySpan<byte> source, Span<byte> destination) =>
        Convert(source, frame: null, destination);

    /// <summary>
    /// Converts the camera frame identified by <paramref name="frame"/> (see <see cref="SharedMjpegDecoder"/>: the same
    /// identity only ever for the same bytes), as <see cref="Convert(ReadOnlySpan{byte}, Span{byte})"/> does; an MJPEG
    /// frame the shared decoder already holds is not decoded again. Raw frames ignore the identity.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is smaller than the guest frame.</exception>
    public ConversionResult Convert(ReadOnlySpan<byte> source, ulong frame, Span<byte> destination) =>
        Convert(source, (ulong?)frame, destination);

    private ConversionResult Convert(ReadOnlySpan<byte> source, ulong? frame, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (destination.Length < _destinationLayout.RequiredLength)
        {
            throw new ArgumentException(
                $"The destination holds {destination.Length} bytes; a {Destination} frame needs {_destinationLayout.RequiredLength}.",
                nameof(destination));
        }

        var result = ConvertFrame(source, frame, destination);
        Interlocked.Increment(ref _counts[(int)result]);
        return result;
    }

    /// <summary>
    /// Converts one camera frame and, only if it converted, writes it to <paramref name="sink"/> in one
    /// <see cref="IFrameSink.Write"/> (planes in order, exactly <see cref="FrameFormat.SizeImage"/> bytes). The frame
    /// is built in a buffer allocated on first use, so a dropped frame writes nothing at all and a guest never sees
    /// a half-converted one.
    /// </summary>
    public ConversionResult Convert(ReadOnlySpan<byte> source, IFrameSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _frame ??= new byte[_destinationLayout.RequiredLength];
        var result = Convert(source, _frame);
        if (result == ConversionResult.Converted)
        {
            sink.Write(_frame);
        }

        return result;
    }

    public void Dispose()
    {
        _disposed = true;
        if (_ownsDecoder)
        {
            _decoder?.Dispose();
        }
    }

    private ConversionResult ConvertFrame(ReadOnlySpan<byte> source, ulong? frame, Span<byte> destination)
    {
        if (_raw is not null)
        {
            if (source.Length < _rawLength)
            {
                return ConversionResult.SourceTooShort;
            }

            _raw.Convert(source, destination);
            return ConversionResult.Converted;
        }

        JpegSubsampling subsampling;
        var decoded = frame is { } identity
            ? _decoder!.Decode(source, identity, out subsampling)
            : _decoder!.DecodeNew(source, out subsampling);
        if (decoded != ConversionResult.Converted)
        {
            return decoded;
        }

        _jpeg[(int)subsampling]!.Convert(_decoder.Planes, destination);
        return ConversionResult.Converted;
    }
}
