using Spectrum.Camera.Uapi;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// What an ioctl handler may look at besides its typed request: the session, the whole payload copy (QBUF's SG entries
/// follow its v4l2_buffer), and the memory map and the command's own segments to check guest addresses against.
/// </summary>
internal readonly ref struct IoctlCall
{
    public MediaSession Session { get; init; }

    public V4l2IoctlNumber Code { get; init; }

    /// <summary>The readable bytes after the ioctl command: the V4L2 structure, then anything that follows it.</summary>
    public ReadOnlySpan<byte> Payload { get; init; }

    public GuestMemory Memory { get; init; }

    /// <summary>The segments of the command's own chain (a guest buffer must not overlap them).</summary>
    public ReadOnlySpan<GuestRange> CommandSegments { get; init; }

    /// <summary>The payload bytes after a <typeparamref name="T"/>.</summary>
    public ReadOnlySpan<byte> After<T>()
        where T : unmanaged => Payload[WireStruct.SizeOf<T>()..];
}

/// <summary>
/// Handles one ioctl for <paramref name="table"/> (the allowlist that dispatched it, so handlers can be static lambdas
/// that allocate nothing): returns 0 with <paramref name="answer"/> to send, or an errno to send the header alone.
/// </summary>
internal delegate Errno IoctlHandler<TRequest, TAnswer>(IoctlAllowlist table, in IoctlCall call, in TRequest request, out TAnswer answer)
    where TRequest : unmanaged
    where TAnswer : unmanaged;

/// <summary>The empty side of an ioctl that carries nothing one way (STREAMON answers nothing; G_INPUT asks nothing).</summary>
internal readonly struct NoPayload
{
    /// <summary>Bytes of <typeparamref name="T"/> on the wire: 0 for <see cref="NoPayload"/>.</summary>
    public static int SizeOf<T>()
        where T : unmanaged => typeof(T) == typeof(NoPayload) ? 0 : WireStruct.SizeOf<T>();
}
