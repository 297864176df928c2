using Spectrum.Camera.Media.Device;

namespace Spectrum.Camera.Tests.Media.Unit;

/// <summary>
/// The first-fit allocator of the shared-memory window, on its own: granule rounding and alignment, lowest fit, merging
/// on free, refusal of double frees and foreign ranges, and a long random run checked against a page-by-page model.
/// </summary>
[TestFixture]
public sealed class WindowAllocatorTests
{
    private const ulong G = 64 * 1024;

    [Test]
    public void Ranges_are_whole_granules_from_the_lowest_free_offset()
    {
        var a = new WindowAllocator(10 * G, G);

        Assert.That(a.TryAllocate(1, out var first), Is.True);
        Assert.That(a.TryAllocate(G + 1, out var second), Is.True);
        Assert.That(a.TryAllocate(G, out var third), Is.True);

        Assert.That((first, second, third), Is.EqualTo((0UL, G, 3 * G)), "1 byte takes a granule, G+1 two");
        Assert.That(a.FreeBytes, Is.EqualTo(6 * G));
    }

    [Test]
    public void A_freed_range_is_reused_first_and_neighbours_merge()
    {
        var a = new WindowAllocator(8 * G, G);
        var offsets = Enumerable.Range(0, 8).Select(_ => a.TryAllocate(G, out var o) ? o : ulong.MaxValue).ToArray();
        Assert.That(a.TryAllocate(G, out _), Is.False, "full");

        a.Free(offsets[2], G);
        a.Free(offsets[4], G);
        Assert.That(a.TryAllocate(2 * G, out _), Is.False, "two free granules, not adjacent");
        a.Free(offsets[3], G);
        Assert.That(a.FreeRangeCount, Is.EqualTo(1), "2, 3 and 4 merged");
        Assert.That(a.TryAllocate(3 * G, out var merged), Is.True);
        Assert.That(merged, Is.EqualTo(offsets[2]));
    }

    [Test]
    public void A_size_that_is_not_a_granule_multiple_leaves_its_tail_unused()
    {
        var a = new WindowAllocator((3 * G) + 4096, G);

        Assert.That((a.Size, a.FreeBytes), Is.EqualTo((3 * G, 3 * G)));
        Assert.That(a.TryAllocate(3 * G, out _), Is.True);
        Assert.That(a.TryAllocate(1, out _), Is.False);
    }

    [Test]
    public void Double_frees_foreign_ranges_and_overflowing_lengths_are_refused()
    {
        var a = new WindowAllocator(4 * G, G);
        Assert.That(a.TryAllocate(G, out var o), Is.True);
        a.Free(o, G);

        Assert.Throws<InvalidOperationException>(() => a.Free(o, G), "double free");
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Free(G / 2, G), "not granule-aligned");
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Free(3 * G, 2 * G), "past the end");
        Assert.That(a.TryAllocate(ulong.MaxValue, out _), Is.False, "rounding would overflow");
        Assert.That(a.TryAllocate(0, out _), Is.False, "nothing to allocate");
        Assert.That(a.FreeBytes, Is.EqualTo(4 * G));
    }

    [Test]
    public void A_long_random_run_matches_a_granule_by_granule_model()
    {
        const int granules = 256;
        var a = new WindowAllocator(granules * G, G);
        var used = new bool[granules];
        var live = new List<(ulong Offset, ulong Length)>();
        var random = new Random(1414);
        for (var step = 0; step < 20_000; step++)
        {
            if (live.Count > 0 && random.Next(2) == 0)
            {
                var i = random.Next(live.Count);
                var (offset, length) = live[i];
                live.RemoveAt(i);
                a.Free(offset, length);
                Array.Fill(used, false, (int)(offset / G), (int)(length / G));
                continue;
            }

            var want = (ulong)random.Next(1, 9) * G;
            var n = (int)(want / G);
            var expected = Enumerable.Range(0, granules - n + 1).Cast<int?>()
                .FirstOrDefault(start => Enumerable.Range(start!.Value, n).All(g => !used[g]));
            var ok = a.TryAllocate(want, out var got);
            Assert.That(ok, Is.EqualTo(expected is not null), $"step {step}: a {n}-granule range exists");
            if (ok)
            {
                Assert.That(got, Is.EqualTo((ulong)expected!.Value * G), $"step {step}: first fit");
                Array.Fill(used, true, expected.Value, n);
                live.Add((got, want));
            }

            Assert.That(a.FreeBytes, Is.EqualTo((ulong)used.Count(u => !u) * G), $"step {step}: free bytes");
        }
    }
}
