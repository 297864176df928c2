namespace Spectrum.Camera.HostileDevice;

/// <summary>What the hostile device does wrong. One is active at a time; the guest selects it in-band (see
/// <see cref="HostileMediaDevice.ControlMagic"/>) or the command line sets the first one.</summary>
internal enum Fault
{
    /// <summary>The real device's answers and events, untouched.</summary>
    None = 0,

    /// <summary>Successful ioctl answers come back short: payload minus one byte, header only, 4 bytes, 0 bytes.</summary>
    ShortAnswer,

    /// <summary>Ioctl answers report a used length beyond the writable part: +1, +4096, 0xFFFFFFFF.</summary>
    OversizedAnswer,

    /// <summary>Ioctl answers carry statuses that are no errno: 512 (ERESTARTSYS), 515, 4095, 4096, 0x80000000, ~0.</summary>
    BadStatus,

    /// <summary>G_FMT, S_FMT and TRY_FMT answers have one bad field each (size, dimensions, fourcc, type, field,
    /// colorimetry) or are random bytes; every other answer is right.</summary>
    GarbageFormat,

    /// <summary>Every ioctl answer has a bad field for its kind (echoes, counts, indices, types, fractions, names) or
    /// is random bytes.</summary>
    GarbageAnswers,

    /// <summary>OPEN answers short, with an invalid status, oversized, or with a session id already in use; CLOSE
    /// "answers" 8 bytes into a chain with no writable part.</summary>
    BadSession,

    /// <summary>Every other EVT_DQBUF claims a bytesused beyond the buffer: 0xFFFFFFF0, length + 1, 0xFFFFFFFF.</summary>
    HugeBytesused,

    /// <summary>A copy of every EVT_DQBUF with an index out of range (32, 1000, ~0, 31) goes first; the real events
    /// of frames 3 and 6 carry an out-of-range index too (their buffers are never completed by the device).</summary>
    BadIndex,

    /// <summary>A malformed event before every frame's EVT_DQBUF (unknown types, EVT_EVENT, too short, empty,
    /// oversized, unknown session, stale duplicate, wrong type/memory, short EVT_ERROR), and every third real
    /// EVT_DQBUF has a bad field, time stamp or payload.</summary>
    BadEvents,

    /// <summary>EVT_ERROR (EIO) for the streaming session, then two more with errno 0 and 70000: on the first stream
    /// after the fault is selected just before the STREAMON answer (while the driver is still starting), on later
    /// streams at frame 10. The device itself carries on streaming to the dead session.</summary>
    ErrorEvent,

    /// <summary>The device does the work but never answers: the first G_FMT, QBUF, STREAMOFF and CLOSE after the fault
    /// is selected are held until the driver resets the device.</summary>
    NoAnswer,

    /// <summary>As <see cref="NoAnswer"/>, but each held answer is sent 6 s later, after the driver's 5 s timeout.</summary>
    LateAnswer,

    /// <summary>Config space: a 32-byte card name with no NUL and control bytes, extra capability bits. Read at probe.</summary>
    ConfigCard,

    /// <summary>Config space: output and M2M capabilities and device type 3. The driver must refuse to bind.</summary>
    ConfigCaps,
}

internal static class Faults
{
    private static readonly string[] Names =
    [
        "none", "short-answer", "oversized-answer", "bad-status", "garbage-fmt", "garbage-answers", "bad-session",
        "huge-bytesused", "bad-index", "bad-events", "error-event", "no-answer", "late-answer",
        "config-card", "config-caps",
    ];

    public static IEnumerable<Fault> All => Enum.GetValues<Fault>();

    public static string Name(this Fault fault) => Names[(int)fault];

    public static bool TryParse(string name, out Fault fault)
    {
        var i = Array.IndexOf(Names, name);
        fault = i < 0 ? Fault.None : (Fault)i;
        return i >= 0;
    }

    /// <summary>True for the faults that change only the config space, which the driver reads once at probe.</summary>
    public static bool IsConfig(this Fault fault) => fault is Fault.ConfigCard or Fault.ConfigCaps;
}
