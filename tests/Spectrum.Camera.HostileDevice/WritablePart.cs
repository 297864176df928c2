using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.HostileDevice;

/// <summary>Reads back what the device wrote into a chain's writable part (the only guest memory this tool reads raw).</summary>
internal static unsafe class WritablePart
{
    /// <summary>Copies the first destination.Length bytes of the writable part; zeros where a segment no longer maps.</summary>
    public static void Read(GuestMemory memory, DescriptorChain chain, Span<byte> destination)
    {
        destination.Clear();
        var segments = chain.Segments;
        var copied = 0;
        for (var i = chain.ReadableCount; i < segments.Length && copied < destination.Length; i++)
        {
            var n = (int)Math.Min(segments[i].Length, (uint)(destination.Length - copied));
            var p = memory.TryTranslate(segments[i].Address, (ulong)n);
            if (p == null)
            {
                return;
            }

            new ReadOnlySpan<byte>(p, n).CopyTo(destination[copied..]);
            copied += n;
        }
    }
}
