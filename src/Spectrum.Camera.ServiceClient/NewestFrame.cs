using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Service;

namespace Spectrum.Camera.ServiceClient;

/// <summary>
/// The service's ring for this VM's stream (a sealed memfd mapped read-only) and the newest frame the service announced
/// in it. A frame is copied out only while it is fresh (see <see cref="CameraServiceSource.FreshnessNanoseconds"/>),
/// in the format the guest streams, from the ring it was announced in. Everything the service sends about the ring is
/// checked against what this sidecar asked for before it is used.
/// </summary>
internal sealed class NewestFrame : IDisposable
{
    private const string Component = "camera-service";

    private FrameRingReader? _ring;
    private FrameFormat _ringFormat;
    private bool _hasFrame;
    private int _slot;
    private ulong _sequence;
    private long _arrivalNs;

    /// <summary>Frames whose slot was rewritten during the copy (they mix two frames).</summary>
    public ulong TornFrames { get; private set; }

    /// <summary>Frames whose slot already held a newer frame when the copy began (not copied).</summary>
    public ulong OverwrittenFrames { get; private set; }

    /// <summary>
    /// Takes the ring the service attached for the stream in <paramref name="streaming"/>, after dropping the one
    /// before. A ring of another format or frame size is refused (logged); nothing is shown from it.
    /// </summary>
    public void Attach(RingAttached attached, FdHandle memfd, FrameFormat streaming)
    {
        Drop();
        var ringFormat = new FrameFormat(attached.PixelFormat, attached.Width, attached.Height);
        if (ringFormat != streaming || attached.FrameSize != streaming.SizeImage)
        {
            Log.Warning(Component, $"ignored ring {attached.RingId}: it carries {ringFormat} frames of {attached.FrameSize} bytes, " +
                                   $"the guest streams {streaming} ({streaming.SizeImage} bytes)");
            return;
        }

        try
        {
            _ring = FrameRingReader.Open(attached.RingId, memfd, attached.SlotCount, attached.SlotSize, attached.FrameSize);
        }
        catch (ProtocolException e)
        {
            Log.Error(Component, $"rejected a ring from the camera service: {e.Message}");
            return;
        }
        catch (NativeException e)
        {
            Log.Error(Component, $"cannot map ring {attached.RingId}: {e.Message}");
            return;
        }

        _ringFormat = ringFormat;
        Log.Debug(Component, $"ring {attached.RingId}: {attached.SlotCount} slots of {ringFormat}");
    }

    /// <summary>A frame is ready in the current ring; one for another ring (an old one) is ignored.</summary>
    public void Announce(FrameReady ready)
    {
        if (_ring is not { } ring || ready.RingId != ring.Id)
        {
            return;
        }

        _hasFrame = true;
        _slot = ready.Slot < int.MaxValue ? (int)ready.Slot : int.MaxValue;
        _sequence = ready.Sequence;
        _arrivalNs = MonotonicClock.NowNanoseconds();
    }

    /// <summary>The camera stopped delivering: the announced frame is no longer shown, the ring stays.</summary>
    public void ForgetFrame() => _hasFrame = false;

    /// <summary>
    /// Copies the announced frame into <paramref name="sink"/> if there is one, it is fresh and in
    /// <paramref name="format"/>. True when a frame was written (torn ones included); false when nothing was.
    /// </summary>
    public bool TryCopy(FrameFormat format, IFrameSink sink)
    {
        if (!_hasFrame || _ring is not { } ring || format != _ringFormat ||
            MonotonicClock.NowNanoseconds() - _arrivalNs >= CameraServiceSource.FreshnessNanoseconds)
        {
            return false;
        }

        switch (ring.CopyFrame(_slot, _sequence, sink))
        {
            case RingReadResult.Copied:
                return true;
            case RingReadResult.Torn:
                TornFrames++;
                return true;
            default:
                // Nothing was written: the slot moved on before the copy began.
                OverwrittenFrames++;
                return false;
        }
    }

    /// <summary>Forgets the ring and the announced frame: nothing real can be shown until a new ring comes.</summary>
    public void Drop()
    {
        _hasFrame = false;
        _ring?.Dispose();
        _ring = null;
    }

    public void Dispose() => Drop();
}
