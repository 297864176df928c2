using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// Everything one ioctl handler may look at: the session, the request payload (a private copy of guest memory, taken
/// once before any validation), a zeroed output struct, and the chain and memory map (for checking guest SG lists).
/// </summary>
internal ref struct IoctlContext
{
    public MediaSession Session;

    /// <summary>The readable bytes after the 16-byte ioctl header: the V4L2 struct, then any SG entries.</summary>
    public ReadOnlySpan<byte> Input;

    /// <summary>The response payload, zeroed and exactly the ioctl's output size: reserved fields stay zero.</summary>
    public Span<byte> Output;

    public DescriptorChain Chain;

    public GuestMemory Memory;
}
