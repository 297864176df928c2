using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Native;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Tests.Media.Unit;

/// <summary>
/// The SG list a QBUF carries, parsed and coalesced: physically adjacent entries become one range once each entry is
/// valid, and the ranges always cover exactly the bytes the guest gave, in its order (never a byte more, never one
/// from another region, never wrapping at the top of the address space). Guest RAM is real memfd mappings placed where
/// each test needs them.
/// </summary>
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class GuestSgListTests : IDisposable
{
    private const uint Page = 4096;

    /// <summary>A 1 MiB region at 1 MiB; <see cref="Adjacent"/> follows it at 2 MiB, a separate mapping.</summary>
    private const ulong Low = 0x10_0000;

    private const ulong Adjacent = 0x20_0000;

    private const ulong RegionSize = 0x10_0000;

    /// <summary>The last 64 KiB of the guest-physical address space: the region ends at 2^64.</summary>
    private const ulong Top = ulong.MaxValue - 0xFFFF;

    private readonly FdHandle _fd = MemFd.Create("sg-list-test", 4 * RegionSize);
    private readonly GuestMemory _memory;
    private readonly QueueBuffer _buffer = new(0);

    public GuestSgListTests() =>
        _memory = new GuestMemory(
        [
            GuestMemoryRegion.Map(0, RegionSize, 0x7000_0000_0000, 0, _fd),
            GuestMemoryRegion.Map(Low, RegionSize, 0x7000_1000_0000, RegionSize, _fd),
            GuestMemoryRegion.Map(Adjacent, RegionSize, 0x7000_2000_0000, 2 * RegionSize, _fd),
            GuestMemoryRegion.Map(Top, 0x1_0000, 0x7000_3000_0000, 3 * RegionSize, _fd),
        ]);

    public void Dispose()
    {
        _memory.Dispose();
        _fd.Dispose();
    }

    [Test]
    public void Three_adjacent_pages_are_one_range()
    {
        var ranges = Accept(3 * Page, (Low, Page), (Low + Page, Page), (Low + (2 * Page), Page));

        Assert.That(ranges, Is.EqualTo(new[] { new GuestRange(Low, 3 * Page) }));
    }

    [Test]
    public void Every_other_page_stays_one_range_per_page()
    {
        var entries = Enumerable.Range(0, 8).Select(i => (Start: Low + ((ulong)i * 2 * Page), Length: Page)).ToArray();

        var ranges = Accept(8 * Page, entries);

        Assert.That(ranges, Is.EqualTo(entries.Select(e => new GuestRange(e.Start, e.Length))));
    }

    [Test]
    public void Runs_of_pages_with_gaps_are_one_range_per_run_in_the_guests_order()
    {
        // Runs of 3, 1 and 2 pages, the second run below the first: order is kept, runs are not sorted or joined.
        var ranges = Accept(6 * Page,
            (Low + (10 * Page), Page), (Low + (11 * Page), Page), (Low + (12 * Page), Page),
            (Low + (2 * Page), Page),
            (Low + (20 * Page), Page), (Low + (21 * Page), Page));

        Assert.That(ranges, Is.EqualTo(new[]
        {
            new GuestRange(Low + (10 * Page), 3 * Page),
            new GuestRange(Low + (2 * Page), Page),
            new GuestRange(Low + (20 * Page), 2 * Page),
        }));
    }

    [Test]
    public void Entries_of_any_length_that_continue_each_other_merge_and_the_last_is_cut_to_the_buffer_length()
    {
        // 100 + 4000 + 3 bytes end to end, then an entry far longer than what is left of the buffer.
        var ranges = Accept(5000, (Low + 7, 100), (Low + 107, 4000), (Low + 4107, 3), (Low + 4110, 65536));

        Assert.That(ranges, Is.EqualTo(new[] { new GuestRange(Low + 7, 5000) }));
    }

    [TestCase(0x800u, TestName = "An entry that starts inside the previous one is not merged")]
    [TestCase(0u, TestName = "The same page given twice is not merged")]
    public void Overlapping_entries_stay_separate(uint offset)
    {
        var ranges = Accept(2 * Page, (Low, Page), (Low + offset, Page));

        Assert.That(ranges, Is.EqualTo(new[] { new GuestRange(Low, Page), new GuestRange(Low + offset, Page) }));
    }

    [Test]
    public void A_page_just_before_the_previous_one_is_not_merged()
    {
        var ranges = Accept(2 * Page, (Low + Page, Page), (Low, Page));

        Assert.That(ranges, Is.EqualTo(new[] { new GuestRange(Low + Page, Page), new GuestRange(Low, Page) }));
    }

    [Test]
    public void A_page_at_the_top_of_the_address_space_does_not_merge_with_the_page_at_address_zero()
    {
        // The first range ends at 2^64, which wraps to 0 where the next one starts: adjacent only modulo 2^64.
        var ranges = Accept(2 * Page, (BelowTop(1), Page), (0, Page));

        Assert.That(ranges, Is.EqualTo(new[] { new GuestRange(BelowTop(1), Page), new GuestRange(0, Page) }));
    }

    [Test]
    public void Pages_up_to_the_top_of_the_address_space_merge_into_a_range_that_ends_there()
    {
        var ranges = Accept(3 * Page, (BelowTop(3), Page), (BelowTop(2), Page), (BelowTop(1), Page));

        Assert.That(ranges, Is.EqualTo(new[] { new GuestRange(BelowTop(3), 3 * Page) }));
        Assert.That(_memory.Contains(ranges[0].Address, ranges[0].Length), Is.True);
    }

    [Test]
    public void Pages_on_both_sides_of_a_boundary_between_two_regions_stay_separate_and_the_frame_lands_in_both()
    {
        // Adjacent guest-physical addresses, separate host mappings: one range over both would not translate.
        var ranges = Accept(2 * Page, (Adjacent - Page, Page), (Adjacent, Page));

        Assert.That(ranges, Is.EqualTo(new[] { new GuestRange(Adjacent - Page, Page), new GuestRange(Adjacent, Page) }));
        var frame = Pattern(2 * Page);
        var writer = new GuestRangeWriter();
        writer.Reset(_memory, _buffer.Ranges, 0, _buffer.RangeCount);
        Assert.That(writer.Write(frame), Is.True, "every stored range translates");
        Assert.That(writer.Faulted, Is.False);
    }

    [Test]
    public void A_frame_written_through_merged_ranges_fills_exactly_the_guests_bytes_in_its_order()
    {
        // Runs, a single page, a run given backwards, a partial first page: every byte the guest gave gets the next
        // frame byte, and the bytes around them (the gaps, before and after) keep their canary.
        (ulong, uint)[] entries =
        [
            (Low + 100, Page - 100), (Low + Page, Page), (Low + (2 * Page), Page),
            (Low + (5 * Page), Page),
            (Low + (9 * Page), Page), (Low + (8 * Page), Page),
            (Low + (12 * Page), 1000),
        ];
        var length = (uint)entries.Sum(e => e.Item2);
        var ranges = Accept(length, entries);
        Assert.That(ranges, Has.Length.EqualTo(5), "runs of 3, 1, 1, 1 and 1 entries");

        var ram = Host(Low, 16 * (int)Page);
        ram.Fill(0xEE);
        var frame = Pattern(length);
        var writer = new GuestRangeWriter();
        writer.Reset(_memory, _buffer.Ranges, 0, _buffer.RangeCount);
        Assert.That(writer.Write(frame), Is.True);

        var expected = new byte[16 * Page];
        expected.AsSpan().Fill(0xEE);
        var offset = 0;
        foreach (var (start, n) in entries)
        {
            frame.AsSpan(offset, (int)n).CopyTo(expected.AsSpan((int)(start - Low)));
            offset += (int)n;
        }

        Assert.That(ram.ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void Random_lists_store_exactly_the_guests_bytes_in_order_and_merge_every_continuation()
    {
        var random = new Random(17);
        for (var round = 0; round < 300; round++)
        {
            var entries = RandomList(random);
            var length = (uint)entries.Sum(e => (long)e.Length) - (uint)random.Next(0, (int)entries[^1].Length);
            var ranges = Accept(length, [.. entries]);

            Assert.That(Bytes(ranges), Is.EqualTo(Bytes(Trim(entries, length))), $"round {round}: the same bytes in the same order");
            for (var i = 1; i < ranges.Length; i++)
            {
                Assert.That(ranges[i].Address, Is.Not.EqualTo(ranges[i - 1].Address + ranges[i - 1].Length),
                    $"round {round}: ranges {i - 1} and {i} continue each other but were not merged");
            }
        }
    }

    [Test]
    public void The_entry_limit_counts_the_guests_entries_not_the_merged_ranges()
    {
        // MaxEntries one-byte entries, end to end: accepted as one range. One more byte needs one entry too many.
        var entries = Enumerable.Range(0, GuestSgList.MaxEntries).Select(i => (Low + (ulong)i, 1u)).ToArray();
        Assert.That(Accept(GuestSgList.MaxEntries, entries), Is.EqualTo(new[] { new GuestRange(Low, GuestSgList.MaxEntries) }));

        var tooMany = Enumerable.Range(0, GuestSgList.MaxEntries + 1).Select(i => (Low + (ulong)i, 1u)).ToArray();
        Assert.That(Parse(GuestSgList.MaxEntries + 1, tooMany, out var problem), Is.EqualTo(Errno.EINVAL));
        Assert.That(problem, Does.Contain($"more than {GuestSgList.MaxEntries} entries"));
    }

    [Test]
    public void A_bad_entry_after_mergeable_ones_refuses_the_list_and_the_buffer_keeps_its_count_and_length()
    {
        Accept(Page, (Low + (40 * Page), Page));

        Assert.Multiple(() =>
        {
            Assert.That(Parse(3 * Page, [(Low, Page), (Low + Page, Page), (Low + (2 * Page), 0)], out _), Is.EqualTo(Errno.EINVAL), "empty entry");
            Assert.That(Parse(4 * Page, [(Low, Page), (Low + Page, Page), (Low + RegionSize - Page, 2 * Page)], out _), Is.EqualTo(Errno.EFAULT),
                "past the end of its region (into the next region, adjacent in guest-physical addresses)");
            Assert.That(Parse(3 * Page, [(Low, Page), (Low + Page, Page), (0x30_0000, Page)], out _), Is.EqualTo(Errno.EFAULT), "not guest RAM");
            Assert.That(Parse(3 * Page, [(BelowTop(1), Page), (0, Page), (Low, Page)], out _), Is.EqualTo(Errno.None), "the control: a good list");
        });
    }

    [Test]
    public void An_entry_that_would_extend_a_run_over_the_commands_own_descriptors_is_refused()
    {
        GuestRange[] command = [new(Low + (2 * Page), 64)];

        var errno = GuestSgList.TryParse(Entries([(Low, Page), (Low + Page, Page), (Low + (2 * Page), Page)]), 3 * Page, _memory, command,
            _buffer, out var problem);

        Assert.That(errno, Is.EqualTo(Errno.EFAULT));
        Assert.That(problem, Does.Contain("SG entry 2").And.Contain("overlaps the command's own descriptors"));
    }

    private GuestRange[] Accept(uint length, params (ulong Start, uint Length)[] entries)
    {
        var errno = Parse(length, entries, out var problem);
        Assert.That(errno, Is.EqualTo(Errno.None), problem);
        Assert.That(_buffer.Length, Is.EqualTo(length));
        var ranges = _buffer.Ranges[.._buffer.RangeCount];
        Assert.That(ranges.Sum(r => (long)r.Length), Is.EqualTo(length), "the ranges sum to the buffer length");
        Assert.That(ranges.All(r => _memory.Contains(r.Address, r.Length)), Is.True, "each range is in one region");
        return ranges;
    }

    private Errno Parse(uint length, (ulong Start, uint Length)[] entries, out string? problem)
    {
        var before = (_buffer.Ranges, _buffer.RangeCount, _buffer.Length);
        var errno = GuestSgList.TryParse(Entries(entries), length, _memory, [], _buffer, out problem);
        if (errno != Errno.None)
        {
            Assert.That((_buffer.RangeCount, _buffer.Length), Is.EqualTo((before.RangeCount, before.Length)), "a refused list changes nothing the device uses");
        }

        return errno;
    }

    /// <summary>The address <paramref name="pages"/> pages below 2^64.</summary>
    private static ulong BelowTop(uint pages) => ulong.MaxValue - (pages * (ulong)Page) + 1;

    private static byte[] Entries((ulong Start, uint Length)[] entries) => MediaRequests.SgList(entries);

    private unsafe Span<byte> Host(ulong gpa, int length) => new(_memory.TryTranslate(gpa, (ulong)length), length);

    private static byte[] Pattern(uint length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)((i * 7) + (i >> 8));
        }

        return bytes;
    }

    /// <summary>
    /// 2 to 24 entries in the low region: runs of adjacent entries of random lengths, jumps, repeats, overlaps. The
    /// farthest an entry can reach is 512 KiB + 64 KiB + 24 entries of 4 KiB, inside the 1 MiB region.
    /// </summary>
    private static List<(ulong Start, uint Length)> RandomList(Random random)
    {
        var entries = new List<(ulong Start, uint Length)>();
        var next = Low + (ulong)random.Next(0, 64 * 1024);
        var count = random.Next(2, 25);
        for (var i = 0; i < count; i++)
        {
            var length = random.Next(3) == 0 ? Page : (uint)random.Next(1, 600);
            var start = random.Next(4) switch
            {
                0 or 1 => next,                                                   // continues the previous entry
                2 => Low + (ulong)random.Next(0, 512 * 1024),                     // anywhere, overlaps included
                _ => entries.Count > 0 ? entries[^1].Start : next,                // repeats the previous start
            };
            entries.Add((start, length));
            next = start + length;
        }

        return entries;
    }

    private static IEnumerable<(ulong Start, uint Length)> Trim(List<(ulong Start, uint Length)> entries, uint length)
    {
        ulong covered = 0;
        foreach (var (start, n) in entries)
        {
            if (covered == length)
            {
                yield break;
            }

            var used = (uint)Math.Min(n, length - covered);
            yield return (start, used);
            covered += used;
        }
    }

    /// <summary>The guest-physical address of every byte, in order.</summary>
    private static List<ulong> Bytes(IEnumerable<(ulong Start, uint Length)> ranges) =>
        [.. ranges.SelectMany(r => Enumerable.Range(0, (int)r.Length).Select(i => r.Start + (ulong)i))];

    private static List<ulong> Bytes(IEnumerable<GuestRange> ranges) => Bytes(ranges.Select(r => (r.Address, r.Length)));
}
