using System.Runtime.InteropServices;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// Decodes MJPEG frames of one camera mode with libjpeg-turbo into planar YUV (full range, the JPEG's own chroma
/// subsampling) in buffers allocated once for the mode. The JPEG bytes are only ever read by libjpeg-turbo; what
/// comes out are freshly decoded samples in buffers this class owns.
/// </summary>
/// <remarks>
/// <para>Anything wrong with a frame is a <see cref="ConversionResult"/>, never an exception: empty input, a
/// non-JPEG, a header of another size, an unsupported colour space or subsampling, and any libjpeg error or
/// warning. Warnings count because a truncated JPEG only warns ("premature end of data") and would otherwise come
/// out with its bottom part grey; TJFLAG_STOPONWARNING makes libjpeg stop at the first one.</para>
/// <para>The decode buffer is pinned (pinned object heap) so its address can be handed to libjpeg-turbo without
/// unsafe code, and sized for the worst case (4:4:4, three full planes), so a camera switching subsampling between
/// frames needs no allocation either.</para>
/// <para>Not thread-safe: one decoder per camera stream.</para>
/// </remarks>
internal sealed class MjpegDecoder : IDisposable
{
    private const int Flags = TurboJpegNative.FlagStopOnWarning | TurboJpegNative.FlagLimitScans;

    private readonly TurboJpegHandle _handle;
    private readonly byte[] _planes;
    private readonly nint[] _addresses = new nint[3];
    private readonly int[] _strides = new int[3];
    private readonly ImageLayout?[] _layouts;

    public MjpegDecoder(int width, int height)
    {
        if (width is < 2 or > HostFrameFormat.MaxDimension || height is < 2 or > HostFrameFormat.MaxDimension || width % 2 != 0 || height % 2 != 0)
        {
            throw new ArgumentException($"MJPEG mode {width}x{height}: width and height must be even and at most {HostFrameFormat.MaxDimension}.");
        }

        Width = width;
        Height = height;
        _layouts =
        [
            ImageLayout.ForPlanar(ImageKind.I444, width, height, fullRange: true),
            ImageLayout.ForPlanar(ImageKind.I422, width, height, fullRange: true),
            ImageLayout.ForPlanar(ImageKind.I420, width, height, fullRange: true),
            ImageLayout.ForPlanar(ImageKind.Gray, width, height, fullRange: true),
            ImageLayout.ForPlanar(ImageKind.I440, width, height, fullRange: true),
        ];
        _planes = GC.AllocateArray<byte>(_layouts.Max(l => l!.RequiredLength), pinned: true);
        try
        {
            _handle = TurboJpegNative.InitDecompress();
        }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException(
                $"MJPEG decoding needs {TurboJpegNative.Library} (Debian package libturbojpeg0), which could not be loaded.", e);
        }

        if (_handle.IsInvalid)
        {
            throw new InvalidOperationException("tjInitDecompress failed.");
        }
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>The decode buffer; the last successful <see cref="Decode"/>'s layout says what is where.</summary>
    public ReadOnlySpan<byte> Planes => _planes;

    /// <summary>
    /// libjpeg-turbo's message for the last failed decode, read on demand (so a dropped frame allocates nothing
    /// unless someone logs it). Valid until the next <see cref="Decode"/>.
    /// </summary>
    public string LastError => Marshal.PtrToStringUTF8(TurboJpegNative.GetErrorString(_handle)) ?? string.Empty;

    /// <summary>The layout libjpeg-turbo decodes a JPEG of <paramref name="subsampling"/> into, or null if unsupported.</summary>
    public ImageLayout? LayoutFor(JpegSubsampling subsampling) =>
        (int)subsampling < _layouts.Length ? _layouts[(int)subsampling] : null;

    /// <summary>
    /// Decodes one frame into <see cref="Planes"/>. On <see cref="ConversionResult.Converted"/>,
    /// <paramref name="subsampling"/> says which <see cref="LayoutFor"/> describes the planes; otherwise the frame is
    /// to be dropped and the planes hold nothing usable.
    /// </summary>
    public ConversionResult Decode(ReadOnlySpan<byte> jpeg, out JpegSubsampling subsampling)
    {
        subsampling = default;
        if (jpeg.IsEmpty)
        {
            return ConversionResult.CorruptJpeg;
        }

        // A tables-only stream succeeds without touching width and height, hence the explicit zeros.
        int width = 0, height = 0, sampling = -1, colorspace = -1;
        if (TurboJpegNative.DecompressHeader(_handle, jpeg, (nuint)jpeg.Length, ref width, ref height, ref sampling, ref colorspace) != 0
            || width <= 0 || height <= 0)
        {
            return ConversionResult.CorruptJpeg;
        }

        if (width != Width || height != Height)
        {
            return ConversionResult.JpegSizeMismatch;
        }

        var chosen = sampling >= 0 ? LayoutFor((JpegSubsampling)sampling) : null;
        var colorspaceOk = colorspace == (chosen?.Kind == ImageKind.Gray ? TurboJpegNative.ColorspaceGray : TurboJpegNative.ColorspaceYCbCr);
        if (chosen is null || !colorspaceOk)
        {
            return ConversionResult.UnsupportedJpeg;
        }

        var baseAddress = Marshal.UnsafeAddrOfPinnedArrayElement(_planes, 0);
        for (var plane = 0; plane < chosen.PlaneCount; plane++)
        {
            _addresses[plane] = baseAddress + chosen.Plane(plane).Offset;
            _strides[plane] = chosen.Plane(plane).Stride;
        }

        var result = TurboJpegNative.DecompressToYuvPlanes(
            _handle, jpeg, (nuint)jpeg.Length, _addresses, Width, _strides, Height, Flags);
        GC.KeepAlive(_planes);
        if (result != 0)
        {
            return ConversionResult.CorruptJpeg;
        }

        subsampling = (JpegSubsampling)sampling;
        return ConversionResult.Converted;
    }

    public void Dispose() => _handle.Dispose();
}
