namespace Spectrum.Camera.Media.Device;

/// <summary>
/// What the output device did with the frames the camera VM queued, for logs and tests. Every buffer the device takes
/// off the queue is counted exactly once, as forwarded, dropped or failed; buffers the driver could not get back yet
/// (no eventq room) wait on the queue and count as held periods instead.
/// </summary>
public sealed class OutputCounters
{
    /// <summary>Frames copied whole from guest pages into the destination and published.</summary>
    public ulong Forwarded { get; internal set; }

    /// <summary>
    /// Frames returned without being passed on because the destination had nowhere to put them: nobody wants frames
    /// (demand ended), or it has no frame memory for this stream yet.
    /// </summary>
    public ulong Dropped { get; internal set; }

    /// <summary>
    /// Frames whose guest pages could not be read whole (a range left guest RAM): the destination forgot the partial
    /// copy and the buffer came back with V4L2_BUF_FLAG_ERROR.
    /// </summary>
    public ulong Failed { get; internal set; }

    /// <summary>Frame periods in which a queued buffer stayed queued because the driver had no room for its EVT_DQBUF.</summary>
    public ulong HeldPeriods { get; internal set; }

    /// <summary>Frame periods begun since the last STREAMON: at most one buffer is taken in each.</summary>
    public ulong Periods { get; internal set; }

    /// <summary>Buffers taken off the queue: forwarded, dropped and failed together.</summary>
    public ulong Taken => Forwarded + Dropped + Failed;
}
