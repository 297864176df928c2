namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// A capture buffer in guest RAM made of scattered 4 KiB pages (every other page, like a real guest's
/// physically-discontiguous allocation), with its SG list as the virtio-media wire carries it.
/// </summary>
public sealed class GuestFrameBuffer
{
    private const uint Page = 4096;

    public GuestFrameBuffer(GuestRam ram, uint length, bool scattered = true, uint firstPageOffset = 0)
    {
        ArgumentNullException.ThrowIfNull(ram);
        Ram = ram;
        Length = length;
        var pages = new List<(ulong, uint)>();
        var remaining = length;
        var offset = firstPageOffset;
        if (!scattered)
        {
            var gpa = ram.Allocate(length + offset, Page) + offset;
            pages.Add((gpa, length));
        }
        else
        {
            while (remaining > 0)
            {
                var gpa = ram.Allocate(2 * Page, Page) + offset;
                var n = Math.Min(remaining, Page - offset);
                pages.Add((gpa, n));
                remaining -= n;
                offset = 0;
            }
        }

        Ranges = pages;
    }

    public GuestRam Ram { get; }

    public uint Length { get; }

    public IReadOnlyList<(ulong Gpa, uint Length)> Ranges { get; }

    /// <summary>The buffer's SG entries for QBUF's readable part.</summary>
    public byte[] SgList() => MediaRequests.SgList(Ranges);

    /// <summary>Gathers the buffer's bytes from guest RAM.</summary>
    public byte[] Read(int count)
    {
        var result = new byte[count];
        var filled = 0;
        foreach (var (gpa, len) in Ranges)
        {
            if (filled == count)
            {
                break;
            }

            var n = (int)Math.Min(len, (uint)(count - filled));
            Ram.Span(gpa, n).CopyTo(result.AsSpan(filled));
            filled += n;
        }

        return result;
    }

    public void Fill(byte value)
    {
        foreach (var (gpa, len) in Ranges)
        {
            Ram.Span(gpa, (int)len).Fill(value);
        }
    }
}
