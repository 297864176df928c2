namespace Spectrum.Camera.Media.Device;

/// <summary>One guest open() of the video node (CMD_OPEN .. CMD_CLOSE).</summary>
internal sealed class MediaSession
{
    public MediaSession(uint id) => Id = id;

    public uint Id { get; }

    /// <summary>Ioctls served on this session, for operator logs.</summary>
    public ulong Ioctls { get; set; }

    /// <summary>The output device's controls whose V4L2_EVENT_CTRL this session subscribed to (bit i: control i).</summary>
    public uint SubscribedControls { get; set; }

    /// <summary>
    /// The V4L2_EVENT_CTRL_CH_* bits of the control event still to be queued for this session (the eventq backlog was
    /// full, or the rings stopped), 0 when none. Only one of the output device's controls ever changes (Frames Wanted),
    /// so one merged event is all a session can be owed, as V4L2 merges a subscription's unread control events.
    /// </summary>
    public uint PendingControlChanges { get; set; }
}
