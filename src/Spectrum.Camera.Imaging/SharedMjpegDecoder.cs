namespace Spectrum.Camera.Imaging;

/// <summary>
/// The MJPEG decode of one camera mode, shared by every <see cref="FrameConverter"/> made for that mode: each camera
/// frame is decoded once, however many guest formats it is converted into. It keeps the decoded planes and what
/// became of the last frame it was given (converted or why it was dropped), under the identity the caller gave
/// that frame; a converter asking for the same identity again gets those planes, or that drop, without a second
/// decode.
/// </summary>
/// <remarks>
/// <para>The identity is the caller's promise: the same identity means the same JPEG bytes. A camera feed gives each
/// frame it delivers a fresh one (never the address of the bytes, which a reused camera buffer repeats for a
/// different frame). A corrupt frame is therefore tried once and its drop repeated for every format that asks.</para>
/// <para>Converters only read the planes, so the second format's output is the same as if it had decoded the frame
/// itself; a frame without identity (<see cref="DecodeNew"/>) is always decoded and forgets the one held.</para>
/// <para>Owned by whoever made it (a converter made without one makes its own); converters given it never dispose
/// it. Not thread-safe: one camera thread decodes.</para>
/// </remarks>
public sealed class SharedMjpegDecoder : IDisposable
{
    private readonly MjpegDecoder _decoder;
    private ulong _heldFrame;
    private bool _holdsFrame;
    private ConversionResult _heldResult;
    private JpegSubsampling _heldSubsampling;
    private long _decodes;

    /// <summary>A decoder for MJPEG frames of <paramref name="width"/> x <paramref name="height"/>.</summary>
    /// <exception cref="ArgumentException">The size is odd, too small or too large for a camera mode.</exception>
    /// <exception cref="InvalidOperationException">libturbojpeg cannot be loaded.</exception>
    public SharedMjpegDecoder(int width, int height)
    {
        _decoder = new MjpegDecoder(width, height);
    }

    public int Width => _decoder.Width;

    public int Height => _decoder.Height;

    /// <summary>Frames handed to libjpeg-turbo so far (successful or not): what sharing saves shows here.</summary>
    internal long Decodes => Volatile.Read(ref _decodes);

    /// <summary>The decode buffer; the layout for the subsampling the last decode reported says what is where.</summary>
    internal ReadOnlySpan<byte> Planes => _decoder.Planes;

    /// <summary>Why the last dropped frame was dropped (see <see cref="MjpegDecoder.LastError"/>).</summary>
    internal string LastError => _decoder.LastError;

    /// <inheritdoc cref="MjpegDecoder.LayoutFor"/>
    internal ImageLayout? LayoutFor(JpegSubsampling subsampling) => _decoder.LayoutFor(subsampling);

    /// <summary>
    /// The planes of the frame identified by <paramref name="frame"/>: decoded from <paramref name="jpeg"/> unless
    /// they already hold it, in which case the first decode's result (and, if it was dropped, its reason) comes back
    /// again. On <see cref="ConversionResult.Converted"/>, <paramref name="subsampling"/> says which layout
    /// describes <see cref="Planes"/>.
    /// </summary>
    internal ConversionResult Decode(ReadOnlySpan<byte> jpeg, ulong frame, out JpegSubsampling subsampling)
    {
        if (!_holdsFrame || _heldFrame != frame)
        {
            _heldResult = DecodeNew(jpeg, out _heldSubsampling);
            _heldFrame = frame;
            _holdsFrame = true;
        }

        subsampling = _heldSubsampling;
        return _heldResult;
    }

    /// <summary>Decodes a frame that has no identity (a standalone converter's); the planes then hold no identified frame.</summary>
    internal ConversionResult DecodeNew(ReadOnlySpan<byte> jpeg, out JpegSubsampling subsampling)
    {
        // Forget first: if the decode were to throw, the planes would be half-written under the old identity.
        _holdsFrame = false;
        Interlocked.Increment(ref _decodes);
        return _decoder.Decode(jpeg, out subsampling);
    }

    public void Dispose()
    {
        _holdsFrame = false;
        _decoder.Dispose();
    }
}
