using System.Runtime.InteropServices;
using System.Text;

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
    private const int ErrorCapacity = 200;

    private readonly TurboJpegHandle _handle;
    private readonly byte[] _planes;
    private readonly nint[] _addresses = new nint[3];
    private readonly int[] _strides = new int[3];
    private readonly ImageLayout?[] _layouts;

    // libjpeg-turbo's last message (a char[JMSG_LENGTH_MAX = 200] in the instance), copied out on failure so that it
    // survives the decompressor's renewal without allocating; made a string only when someone asks.
    private readonly byte[] _error = new byte[ErrorCapacity];
    private int _errorLength;

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
            _handle = TurboJpegHandle.Create();
        }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException(
                $"MJPEG decoding needs {TurboJpegNative.Library} (Debian package libturbojpeg0), which could not be loaded.", e);
        }
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>The decode buffer; the last successful <see cref="Decode"/>'s layout says what is where.</summary>
    public ReadOnlySpan<byte> Planes => _planes;

    /// <summary>Why the last dropped frame was dropped: libjpeg-turbo's message, or this decoder's (empty until one is dropped).</summary>
    public string LastError => Encoding.UTF8.GetString(_error.AsSpan(0, _errorLength));

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
            return Refused(ConversionResult.CorruptJpeg, "Empty frame.");
        }

        // A tables-only stream succeeds without touching width and height, hence the explicit zeros.
        int width = 0, height = 0, sampling = -1, colorspace = -1;
        if (TurboJpegNative.DecompressHeader(_handle, jpeg, (nuint)jpeg.Length, ref width, ref height, ref sampling, ref colorspace) != 0)
        {
            return Failed();
        }

        if (width <= 0 || height <= 0)
        {
            return Refused(ConversionResult.CorruptJpeg, "Not an image (a tables-only JPEG stream).");
        }

        if (width != Width || height != Height)
        {
            return Refused(ConversionResult.JpegSizeMismatch, "The JPEG is not the size of the camera mode.");
        }

        var chosen = sampling >= 0 ? LayoutFor((JpegSubsampling)sampling) : null;
        var colorspaceOk = colorspace == (chosen?.Kind == ImageKind.Gray ? TurboJpegNative.ColorspaceGray : TurboJpegNative.ColorspaceYCbCr);
        if (chosen is null || !colorspaceOk)
        {
            return Refused(ConversionResult.UnsupportedJpeg, "Unsupported JPEG colour space or chroma subsampling.");
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
            return Failed();
        }

        subsampling = (JpegSubsampling)sampling;
        return ConversionResult.Converted;
    }

    public void Dispose() => _handle.Dispose();

    // Keeps libjpeg-turbo's message, then starts over with a fresh decompressor so that nothing of the bad frame
    // (a half-read header, Huffman or quantisation tables it defined) can affect the next one. Only a dropped frame
    // pays for this, with a native allocation; the managed heap is not touched.
    private ConversionResult Failed()
    {
        var message = TurboJpegNative.GetErrorString(_handle);
        _errorLength = 0;
        if (message != 0)
        {
            Marshal.Copy(message, _error, 0, ErrorCapacity);
            var end = _error.AsSpan().IndexOf((byte)0);
            _errorLength = end < 0 ? ErrorCapacity : end;
        }

        _handle.Renew();
        return ConversionResult.CorruptJpeg;
    }

    // A frame libjpeg read without error but this decoder will not use: renewed all the same, since the tables it
    // defined would otherwise stay in the decompressor.
    private ConversionResult Refused(ConversionResult reason, string message)
    {
        _errorLength = Encoding.ASCII.GetBytes(message, _error);
        _handle.Renew();
        return reason;
    }
}
