using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native.Diagnostics;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// One <see cref="FrameConverter"/> per guest format for the camera's current host format, made on first use and
/// kept until the host format changes (<see cref="Reset"/>) or the camera closes (<see cref="Clear"/>): so a
/// steady stream allocates nothing, whatever number of formats it is rendered into.
/// </summary>
/// <remarks>Not thread-safe: the feed's loop thread uses it.</remarks>
internal sealed class FrameConverterCache : IDisposable
{
    private readonly Dictionary<FrameFormat, FrameConverter?> _converters = [];
    private HostFrameFormat? _source;
    private bool _disposed;

    /// <summary>The host format frames come in, or null while no camera is open.</summary>
    public HostFrameFormat? Source => _source;

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
            converter = new FrameConverter(source, destination);
        }
        catch (InvalidOperationException e)
        {
            Log.Error("camera-feed", $"cannot convert {source} into {destination}: {e.Message}; these frames are dropped (install libturbojpeg)");
            converter = null;
        }

        _converters[destination] = converter;
        return converter;
    }

    /// <summary>Disposes every converter (the camera closed); <see cref="Source"/> stays until the next <see cref="Reset"/>.</summary>
    public void Clear()
    {
        foreach (var converter in _converters.Values)
        {
            converter?.Dispose();
        }

        _converters.Clear();
    }

    public void Dispose()
    {
        Clear();
        _disposed = true;
    }
}
