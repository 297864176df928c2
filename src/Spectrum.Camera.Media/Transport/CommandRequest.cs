using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Transport;

/// <summary>
/// One command as the device's handler sees it: a private copy of the chain's readable part, taken once before any
/// validation (the guest may rewrite its memory meanwhile, and for WR ioctls the response descriptors alias the request
/// ones), plus what a handler needs to check guest addresses against: the memory map and the chain's own segments.
/// </summary>
public readonly ref struct CommandRequest
{
    public CommandRequest(ReadOnlySpan<byte> bytes, uint readableLength, uint writableLength, GuestMemory memory,
        ReadOnlySpan<GuestRange> segments)
    {
        Bytes = bytes;
        ReadableLength = readableLength;
        WritableLength = writableLength;
        Memory = memory;
        Segments = segments;
    }

    /// <summary>The copied readable bytes (at most the transport's request limit; fewer if a segment vanished).</summary>
    public ReadOnlySpan<byte> Bytes { get; }

    /// <summary>The readable length the chain declares (may exceed <see cref="Bytes"/>).</summary>
    public uint ReadableLength { get; }

    /// <summary>Room for the response: the chain's writable length.</summary>
    public uint WritableLength { get; }

    public GuestMemory Memory { get; }

    /// <summary>Every segment of the command's chain, readable ones first.</summary>
    public ReadOnlySpan<GuestRange> Segments { get; }
}
