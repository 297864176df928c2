namespace Spectrum.Camera.Media.Device;

/// <summary>One guest open() of the video node (CMD_OPEN .. CMD_CLOSE).</summary>
internal sealed class MediaSession
{
    public MediaSession(uint id) => Id = id;

    public uint Id { get; }

    /// <summary>Ioctls served on this session, for operator logs.</summary>
    public ulong Ioctls { get; set; }
}
