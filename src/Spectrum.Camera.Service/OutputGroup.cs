using Spectrum.Camera.Frames;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Service;

namespace Spectrum.Camera.Service;

/// <summary>
/// The allowed sidecars streaming one exact guest format from one camera, and the ring each camera frame is converted
/// into once for all of them. When a member loses permission the group moves to a fresh ring (<see cref="Rotate"/>),
/// so the memfd the denied sidecar still maps is never written again.
/// </summary>
internal sealed class OutputGroup : IDisposable
{
    private readonly int _slots;
    private readonly List<SidecarSession> _members = [];

    public OutputGroup(FrameFormat format, int slots)
    {
        Format = format;
        _slots = slots;
        Ring = new FrameRingWriter(slots, (int)format.SizeImage);
    }

    public FrameFormat Format { get; }

    public FrameRingWriter Ring { get; private set; }

    public IReadOnlyList<SidecarSession> Members => _members;

    /// <summary>Frames converted into this group's rings.</summary>
    public ulong Converted { get; set; }

    /// <summary>Frames the feed could not render for this format (corrupt MJPEG and the like).</summary>
    public ulong Dropped { get; set; }

    /// <summary>The slot the current camera frame was written to, or -1 when it could not be rendered.</summary>
    public int LastSlot { get; set; } = -1;

    public void Add(SidecarSession member)
    {
        _members.Add(member);
        member.Send(RingAttachedMessage(), Ring.Fd);
    }

    public bool Remove(SidecarSession member) => _members.Remove(member);

    /// <summary>Replaces the ring and hands the new one to the remaining members; the old memfd is never written again.</summary>
    public void Rotate()
    {
        var old = Ring;
        Ring = new FrameRingWriter(_slots, (int)Format.SizeImage);
        old.Dispose();
        foreach (var member in _members.ToArray())
        {
            member.Send(RingAttachedMessage(), Ring.Fd);
        }
    }

    public void Dispose() => Ring.Dispose();

    private ServiceMessage RingAttachedMessage() => new()
    {
        RingAttached = new RingAttached
        {
            RingId = Ring.Id,
            SlotCount = (uint)Ring.Layout.SlotCount,
            SlotSize = (uint)Ring.Layout.SlotSize,
            FrameSize = (uint)Ring.Layout.FrameSize,
            PixelFormat = Format.PixelFormat,
            Width = Format.Width,
            Height = Format.Height,
        },
    };
}
