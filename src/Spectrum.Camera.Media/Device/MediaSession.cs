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

    /// <summary>Subscribed controls whose change event is still to be queued (the eventq backlog was full).</summary>
    public uint PendingControlEvents { get; set; }
}
