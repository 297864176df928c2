using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native.Diagnostics;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// One <see cref="FrameConverter"/> per guest format for the camera's current host format, made on first use and
/// kept until the host format changes (<see cref="Reset"/>) or the camera closes (<see cref="Clear"/>): so a
/// steady stream allocates nothing, whatever number of formats it is rendered into. For an MJPEG camera the
/// converters share one <see cref="SharedMjpegDecoder"/>, so each camera frame is decoded once for all formats.
/// </summary>
/// <remarks>
/// <para>Frames are told apart by the identity <see cref="NewFrame"/> issues, one per delivered frame: a shared
/// decoder must never take a new frame for the one it holds, and neither a camera buffer's address (reused for
/// the next frame) nor a driver's sequence number (which nothing forces a driver to advance) can promise that.
/// The decoder goes with the converters at <see cref="Reset"/> and <see cref="Clear"/>, so planes of one mode are
/// never read as another's.</para>
/// <para>Not thread-safe: the feed's loop thread uses it.</para>
/// </remarks>
internal sealed class FrameConverterCache : IDisposable
{
    private readonly Dictionary<FrameFormat, FrameConverter?> _converters = [];
    private HostFrameFormat? _source;
    private SharedMjpegDecoder? _decoder;
    private ulong _lastFrame;
    private bool _disposed;

    /// <summary>The host format frames come in, or null while no camera is open.</summary>
    public HostFrameFormat? Source => _source;

    /// <summary>The shared MJPEG decoder of the current mode, or null (a raw mode, or no MJPEG converter made yet).</summary>
    internal SharedMjpegDecoder? Decoder => _decoder;

    /// <summary>
    /// A fresh identity for the camera frame about to be rendered (into any number of formats, each through
    /// <see cref="For"/>): never one issued before by this cache, whatever the modes in between.
    /// </summary>
    public ulong NewFrame() => ++_lastFrame;

    /// <summary>Drops every converter and takes frames of <paramref name="source"/> from now on.</summary>
    public void Reset(HostFrameFormat source)
    {
        Clear();
        _source = source;
    }

    /// <summary>
    /// The converter from the host format into <paramref name="destination"/>, or null when none can be made (the
    /// MJPEG decoder cannot load libturbojpeg: logged once per format, and the frames count as dropped).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not a valid guest format.</exception>
    public FrameConverter? For(FrameFormat destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_converters.TryGetValue(destination, out var converter))
        {
            return converter;
        }

        var source = _source ?? throw new InvalidOperationException("no camera is open");
        try
        {
            converter = HostPixelFormats.IsJpeg(source.PixelFormat)
                ? new FrameConverter(source, destination, _decoder ??= new SharedMjpegDecoder(source.Width, source.Height))
                : new FrameConverter(source, destination);
        }
        catch (InvalidOperationException e)
        {
            Log.Error("camera-feed", $"cannot convert {source} into {destination}: {e.Message}; these frames are dropped (install libturbojpeg)");
            converter = null;
        }

        _converters[destination] = converter;
        return converter;
    }

    /// <summary>
    /// Disposes every converter and the shared decoder (the camera closed); <see cref="Source"/> stays until the next
    /// <see cref="Reset"/>.
    /// </summary>
    public void Clear()
    {
        foreach (var converter in _converters.Values)
        {
            converter?.Dispose();
        }

        _converters.Clear();
        _decoder?.Dispose();
        _decoder = null;
    }

    public void Dispose()
    {
        Clear();
        _disposed = true;
    }
}
