namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// A capture buffer in guest RAM made of scattered 4 KiB pages (every other page, like a real guest's
/// physically-discontiguous allocation), with its SG list as the virtio-media wire carries it. With
/// <c>pagesPerRun</c> above 1 the pages come in physically contiguous runs of that many, a free page between runs,
/// and the SG list still has one entry per page, as a guest driver that does not merge adjacent pages sends it.
/// </summary>
public sealed class GuestFrameBuffer
{
    private const uint Page = 4096;

    public GuestFrameBuffer(GuestRam ram, uint length, bool scattered = true, uint firstPageOffset = 0, int pagesPerRun = 1)
    {
        ArgumentNullException.ThrowIfNull(ram);
        ArgumentOutOfRangeException.ThrowIfLessThan(pagesPerRun, 1);
        Ram = ram;
        Length = length;
        var pages = new List<(ulong, uint)>();
        var runs = new List<(ulong, uint)>();
        var remaining = length;
        var offset = firstPageOffset;
        if (!scattered)
        {
            var gpa = ram.Allocate(length + offset, Page) + offset;
            pages.Add((gpa, length));
            runs.Add((gpa, length));
        }
        else
        {
            while (remaining > 0)
            {
                var run = ram.Allocate((ulong)(pagesPerRun + 1) * Page, Page) + offset;
                var inRun = 0u;
                for (var page = 0; page < pagesPerRun && remaining > 0; page++)
                {
                    var n = Math.Min(remaining, Page - offset);
                    pages.Add((run + inRun, n));
                    inRun += n;
                    remaining -= n;
                    offset = 0;
                }

                runs.Add((run, inRun));
            }
        }

        Ranges = pages;
        Runs = runs;
    }

    public GuestRam Ram { get; }

    public uint Length { get; }

    /// <summary>The SG entries, one per page (or the whole buffer when it is not scattered).</summary>
    public IReadOnlyList<(ulong Gpa, uint Length)> Ranges { get; }

    /// <summary>The physically contiguous runs the pages form, in order: what a device that merges adjacent entries keeps.</summary>
    public IReadOnlyList<(ulong Gpa, uint Length)> Runs { get; }

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
