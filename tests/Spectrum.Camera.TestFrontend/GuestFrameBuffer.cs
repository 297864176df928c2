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
        Copy(result, toGuest: false);
        return result;
    }

    /// <summary>Scatters <paramref name="bytes"/> into the buffer's pages from its start (a producer's frame).</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if ((uint)bytes.Length > Length)
        {
            throw new ArgumentException($"{bytes.Length} bytes do not fit a {Length}-byte buffer", nameof(bytes));
        }

        Copy(bytes.ToArray(), toGuest: true);
    }

    public void Fill(byte value)
    {
        foreach (var (gpa, len) in Ranges)
        {
            Ram.Span(gpa, (int)len).Fill(value);
        }
    }

    private void Copy(Span<byte> data, bool toGuest)
    {
        var done = 0;
        foreach (var (gpa, len) in Ranges)
        {
            if (done == data.Length)
            {
                break;
            }

            var n = (int)Math.Min(len, (uint)(data.Length - done));
            if (toGuest)
            {
                data.Slice(done, n).CopyTo(Ram.Span(gpa, n));
            }
            else
            {
                Ram.Span(gpa, n).CopyTo(data[done..]);
            }

            done += n;
        }
    }
}
