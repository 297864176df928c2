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
/// <remarks>
/// The service moves a stream to a fresh ring whenever another VM leaves the stream's group (so that a VM that left
/// never sees another frame through a mapping it kept). For the VMs that stay, the old ring's newest frame is still the
/// newest frame they may show, and the service never writes that ring again: it is shown until the new ring's first
/// frame is announced, so the move is invisible in the guest. A deny (<see cref="Drop"/>) forgets both rings at once.
/// </remarks>
internal sealed class NewestFrame : IDisposable
{
    private const string Component = "camera-service";

    private AnnouncedRing? _current;
    private AnnouncedRing? _previous;

    /// <summary>Frames whose slot was rewritten during the copy (they mix two frames).</summary>
    public ulong TornFrames { get; private set; }

    /// <summary>
    /// Takes the ring the service attached for the stream in <paramref name="streaming"/>. Until its first frame is
    /// announced, the replaced ring's newest frame stays showable. A ring of another format or frame size is refused
    /// (logged), and then nothing is shown from either ring.
    /// </summary>
    public void Attach(RingAttached attached, FdHandle memfd, FrameFormat streaming)
    {
        var replaced = _current is { HasFrame: true } ? _current : _previous;
        if (replaced != _current)
        {
            _current?.Dispose();
        }

        if (replaced != _previous)
        {
            _previous?.Dispose();
        }

        _current = null;
        _previous = replaced;
        var ringFormat = new FrameFormat(attached.PixelFormat, attached.Width, attached.Height);
        if (ringFormat != streaming || attached.FrameSize != streaming.SizeImage)
        {
            Log.Warning(Component, $"ignored ring {attached.RingId}: it carries {ringFormat} frames of {attached.FrameSize} bytes, " +
                                   $"the guest streams {streaming} ({streaming.SizeImage} bytes)");
            Drop();
            return;
        }

        try
        {
            _current = new AnnouncedRing(
                FrameRingReader.Open(attached.RingId, memfd, attached.SlotCount, attached.SlotSize, attached.FrameSize),
                ringFormat);
        }
        catch (ProtocolException e)
        {
            Log.Error(Component, $"rejected a ring from the camera service: {e.Message}");
            Drop();
            return;
        }
        catch (NativeException e)
        {
            Log.Error(Component, $"cannot map ring {attached.RingId}: {e.Message}");
            Drop();
            return;
        }

        Log.Debug(Component, $"ring {attached.RingId}: {attached.SlotCount} slots of {ringFormat}");
    }

    /// <summary>
    /// A frame is ready in the current ring; one for another ring (an old one) is ignored (false). The first frame of
    /// the current ring retires the replaced one.
    /// </summary>
    public bool Announce(FrameReady ready)
    {
        if (_current is not { } current || ready.RingId != current.Ring.Id)
        {
            return false;
        }

        current.Announce(ready);
        _previous?.Dispose();
        _previous = null;
        return true;
    }

    /// <summary>The camera stopped delivering: the announced frames are no longer shown, the rings stay.</summary>
    public void ForgetFrame()
    {
        _current?.Forget();
        _previous?.Dispose();
        _previous = null;
    }

    /// <summary>
    /// Copies the newest announced frame into <paramref name="sink"/> if there is one, it is fresh and in
    /// <paramref name="format"/>. <see cref="FrameCopy.Written"/> when a frame was written (torn ones included);
    /// <see cref="FrameCopy.Overwritten"/> when its slot already held a newer frame (the service announced it or is about
    /// to), <see cref="FrameCopy.Stale"/> when it arrived too long ago: nothing was written in either case, and the
    /// caller may read the service's pending messages and try again.
    /// </summary>
    public FrameCopy TryCopy(FrameFormat format, IFrameSink sink)
    {
        var source = _current is { HasFrame: true } ? _current : _previous;
        if (source is null || !source.HasFrame || format != source.Format)
        {
            return FrameCopy.Nothing;
        }

        if (MonotonicClock.NowNanoseconds() - source.ArrivalNs >= CameraServiceSource.FreshnessNanoseconds)
        {
            return FrameCopy.Stale;
        }

        switch (source.Ring.CopyFrame(source.Slot, source.Sequence, sink))
        {
            case RingReadResult.Copied:
                return FrameCopy.Written;
            case RingReadResult.Torn:
                TornFrames++;
                return FrameCopy.Written;
            default:
                return FrameCopy.Overwritten;
        }
    }

    /// <summary>Forgets both rings and the announced frames: nothing real can be shown until a new ring comes.</summary>
    public void Drop()
    {
        _current?.Dispose();
        _previous?.Dispose();
        _current = _previous = null;
    }

    public void Dispose() => Drop();

    /// <summary>One mapped ring and the newest frame announced in it.</summary>
    private sealed class AnnouncedRing(FrameRingReader ring, FrameFormat format) : IDisposable
    {
        public FrameRingReader Ring { get; } = ring;

        public FrameFormat Format { get; } = format;

        public bool HasFrame { get; private set; }

        public int Slot { get; private set; }

        public ulong Sequence { get; private set; }

        public long ArrivalNs { get; private set; }

        public void Announce(FrameReady ready)
        {
            HasFrame = true;
            Slot = ready.Slot < int.MaxValue ? (int)ready.Slot : int.MaxValue;
            Sequence = ready.Sequence;
            ArrivalNs = MonotonicClock.NowNanoseconds();
        }

        public void Forget() => HasFrame = false;

        public void Dispose()
        {
            HasFrame = false;
            Ring.Dispose();
        }
    }
}

/// <summary>What <see cref="NewestFrame.TryCopy"/> did.</summary>
internal enum FrameCopy
{
    /// <summary>No frame may be shown: nothing written.</summary>
    Nothing,

    /// <summary>A frame was written into the sink.</summary>
    Written,

    /// <summary>The announced frame's slot already held a newer frame: nothing written.</summary>
    Overwritten,

    /// <summary>The newest announced frame arrived longer ago than the freshness limit: nothing written.</summary>
    Stale,
}
