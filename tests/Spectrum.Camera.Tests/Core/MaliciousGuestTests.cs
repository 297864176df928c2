using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// A hostile guest driver writes bad rings and chains. For every case: the queue stops with one clear log line and an
/// err-eventfd signal; nothing is completed for the bad chain; the backend keeps answering (GET_CONFIG) and serving
/// the other queue; a driver restart brings the queue back; no guest byte outside the valid chains changed (canary
/// over all RAM, the bad chain's own buffers included); no fd leaked.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class MaliciousGuestTests : CoreFixture
{
    private const ushort Next = GuestVirtqueue.FlagNext;
    private const ushort Write = GuestVirtqueue.FlagWrite;
    private const ushort Indirect = GuestVirtqueue.FlagIndirect;
    private const int Echo = EchoEventDevice.EchoQueue;
    private const int Events = EchoEventDevice.EventQueue;
    private const ulong RamSize = 64UL << 20;

    [Test]
    public void Descriptor_loop()
    {
        Attack(Echo, "descriptor chain from head 100 is longer than its table (128 entries): a loop", (s, q) =>
        {
            q.WriteDescriptor(100, Unallowed(s, 64), 64, Write | Next, 101);
            q.WriteDescriptor(101, Unallowed(s, 64), 64, Write | Next, 100);
            q.PublishHead(100);
        });
    }

    [Test]
    public void Descriptor_pointing_to_itself()
    {
        Attack(Echo, "a loop", (s, q) =>
        {
            q.WriteDescriptor(100, Unallowed(s, 64), 64, Write | Next, 100);
            q.PublishHead(100);
        });
    }

    [TestCase((ushort)128)]
    [TestCase((ushort)0xFFFF)]
    public void Next_out_of_range(ushort next)
    {
        Attack(Echo, $"descriptor 100 has next {next}, outside its table of 128", (s, q) =>
        {
            q.WriteDescriptor(100, Request(s), 4, Next, next);
            q.PublishHead(100);
        });
    }

    [Test]
    public void Nested_indirect_table()
    {
        Attack(Echo, "nested indirect descriptor at index 0 of an indirect table", (s, q) =>
        {
            var inner = Wire.IndirectTable(s, (Unallowed(s, 64), 64, Write, 0));
            var outer = Wire.IndirectTable(s, (inner, 16, Indirect, 0));
            q.WriteDescriptor(100, outer, 16, Indirect, 0);
            q.PublishHead(100);
        });
    }

    [Test]
    public void Indirect_together_with_next()
    {
        Attack(Echo, "descriptor 100 has both INDIRECT and NEXT", (s, q) =>
        {
            var table = Wire.IndirectTable(s, (Unallowed(s, 64), 64, Write, 0));
            q.WriteDescriptor(100, table, 16, Indirect | Next, 101);
            q.WriteDescriptor(101, Unallowed(s, 64), 64, Write, 0);
            q.PublishHead(100);
        });
    }

    [TestCase(0u)]
    [TestCase(24u)]
    [TestCase(1025u * 16)]
    public void Indirect_table_length_not_a_multiple_of_16_or_too_large(uint length)
    {
        Attack(Echo, $"indirect table length {length} is not a non-zero multiple of 16", (s, q) =>
        {
            var table = s.Ram.Allocate(1025 * 16, 16);
            q.WriteDescriptor(100, table, length, Indirect, 0);
            q.PublishHead(100);
        });
    }

    [Test]
    public void Indirect_table_in_the_ram_hole()
    {
        Attack(Echo, "indirect table [0xa0000, +32) is not in guest RAM", (_, q) =>
        {
            q.WriteDescriptor(100, GuestRam.HoleStart, 32, Indirect, 0);
            q.PublishHead(100);
        });
    }

    [Test]
    public void Indirect_table_with_a_loop()
    {
        Attack(Echo, "descriptor chain from head 100 is longer than its table (2 entries): a loop", (s, q) =>
        {
            var table = Wire.IndirectTable(s, (Unallowed(s, 64), 64, Write | Next, 1), (Unallowed(s, 64), 64, Write | Next, 0));
            q.WriteDescriptor(100, table, 32, Indirect, 0);
            q.PublishHead(100);
        });
    }

    [Test]
    public void Indirect_next_outside_its_table()
    {
        Attack(Echo, "descriptor 0 has next 2, outside its table of 2", (s, q) =>
        {
            var table = Wire.IndirectTable(s, (Request(s), 4, Next, 2), (Unallowed(s, 64), 64, Write, 0));
            q.WriteDescriptor(100, table, 32, Indirect, 0);
            q.PublishHead(100);
        });
    }

    [Test]
    public void Indirect_without_the_negotiated_feature()
    {
        const ulong withoutIndirect = TestVmm.LinuxGuestFeatures & ~(1UL << 28);
        Attack(Echo, "descriptor 100 is INDIRECT but VIRTIO_RING_F_INDIRECT_DESC was not negotiated", (s, q) =>
        {
            var table = Wire.IndirectTable(s, (Unallowed(s, 64), 64, Write, 0));
            q.WriteDescriptor(100, table, 16, Indirect, 0);
            q.PublishHead(100);
        }, withoutIndirect);
    }

    [Test]
    public void Readable_after_writable()
    {
        Attack(Echo, "descriptor 101 is device-readable after a device-writable one", (s, q) =>
        {
            q.WriteDescriptor(100, Unallowed(s, 64), 64, Write | Next, 101);
            q.WriteDescriptor(101, Request(s), 4, 0, 0);
            q.PublishHead(100);
        });
    }

    [Test]
    public void Readable_after_writable_inside_an_indirect_table()
    {
        Attack(Echo, "descriptor 1 is device-readable after a device-writable one", (s, q) =>
        {
            var table = Wire.IndirectTable(s, (Unallowed(s, 64), 64, Write | Next, 1), (Request(s), 4, 0, 0));
            q.WriteDescriptor(100, table, 32, Indirect, 0);
            q.PublishHead(100);
        });
    }

    [Test]
    public void Zero_length_descriptor()
    {
        Attack(Echo, "descriptor 101 has length 0", (s, q) =>
        {
            q.WriteDescriptor(100, Request(s), 4, Next, 101);
            q.WriteDescriptor(101, Unallowed(s, 64), 0, Write, 0);
            q.PublishHead(100);
        });
    }

    [TestCase(0xA0000UL, 16u, TestName = "Address_in_the_ram_hole")]
    [TestCase(0x9FFF8UL, 16u, TestName = "Address_straddling_the_start_of_the_ram_hole")]
    [TestCase(0xBFFF8UL, 16u, TestName = "Address_straddling_the_end_of_the_ram_hole")]
    [TestCase(RamSize, 16u, TestName = "Address_past_the_end_of_ram")]
    [TestCase(RamSize - 8, 16u, TestName = "Address_straddling_the_end_of_ram")]
    [TestCase(0xFFFF_FFFF_FFFF_FFF0UL, 0x20u, TestName = "Address_range_wrapping_past_2_pow_64")]
    [TestCase(0xFFFF_FFFF_FFFF_F000UL, 0x1000u, TestName = "Address_range_ending_exactly_at_2_pow_64")]
    [TestCase(0x100000UL, 0xFFFF_FFFFu, TestName = "Length_reaching_past_the_end_of_ram")]
    public void Writable_buffer_outside_guest_ram(ulong address, uint length)
    {
        Attack(Echo, $"descriptor 101 buffer [0x{address:x}, +{length}) is not in guest RAM", (s, q) =>
        {
            q.WriteDescriptor(100, Request(s), 4, Next, 101);
            q.WriteDescriptor(101, address, length, Write, 0);
            q.PublishHead(100);
        });
    }

    [Test]
    public void Readable_buffer_in_the_ram_hole()
    {
        Attack(Echo, "descriptor 100 buffer [0xa0100, +64) is not in guest RAM", (s, q) =>
        {
            q.WriteDescriptor(100, 0xA0100, 64, Next, 101);
            q.WriteDescriptor(101, Unallowed(s, 64), 64, Write, 0);
            q.PublishHead(100);
        });
    }

    [Test]
    public void Chain_length_sum_overflowing_32_bits()
    {
        // 70 readable descriptors of 63 MiB each, all valid RAM: together more than 4 GiB.
        Attack(Echo, "descriptor chain from head 40 totals more than 2^32-1 bytes", (_, q) =>
        {
            for (ushort i = 40; i < 110; i++)
            {
                q.WriteDescriptor(i, 0x100000, 0x3F0_0000, Next, (ushort)(i + 1));
            }

            q.WriteDescriptor(110, 0x100000, 0x3F0_0000, 0, 0);
            q.PublishHead(40);
        });
    }

    [Test]
    public void Avail_index_jumping_by_more_than_num()
    {
        Attack(Echo, "avail index moved from 0 to 129, more than the queue size 128", (s, q) =>
        {
            s.PostEcho([1], 4);
            q.SetAvailIndex(129);
        });
    }

    [TestCase((ushort)128)]
    [TestCase((ushort)0xFFFF)]
    public void Head_not_below_num(ushort head)
    {
        Attack(Echo, $"avail ring entry 0 names head {head}, outside the queue of 128", (_, q) => q.PublishHead(head));
    }

    [Test]
    public void One_head_in_flight_twice()
    {
        Attack(Events, "head 10 was made available again while still in flight", (s, q) =>
        {
            var gpa = s.Canary.Buffer(32);
            q.WriteDescriptor(10, gpa, 32, Write, 0);
            q.PublishHead(10);
            q.Notify();
            Assert.That(SpinWait.SpinUntil(() => s.HeldEvents() == 1, TestWait.Bound), Is.True, "device holds head 10");
            q.PublishHead(10);
        });
    }

    [Test]
    public void Good_chains_before_a_bad_one_are_completed_and_the_bad_one_is_not()
    {
        Attack(Echo, "descriptor 101 has next 500, outside its table of 128", (s, q) =>
        {
            var (h1, _) = s.PostEcho([1, 2], 2);
            var (h2, _) = s.PostEcho([3, 4], 2);
            q.WriteDescriptor(100, Request(s), 4, Next, 101);
            q.WriteDescriptor(101, Unallowed(s, 8), 8, Write | Next, 500);
            q.PublishHead(100);
            s.PostEcho([5, 6], 2);
            q.Notify();
            Assert.That(q.WaitUsed(TestWait.Bound).Head, Is.EqualTo(h1));
            Assert.That(q.WaitUsed(TestWait.Bound).Head, Is.EqualTo(h2));
        });
    }

    /// <summary>
    /// Runs one attack on queue <paramref name="queue"/> of a started session and checks every invariant of the suite.
    /// </summary>
    private static void Attack(int queue, string expectedLog, Action<CoreSession, GuestVirtqueue> attack,
        ulong guestFeatures = TestVmm.LinuxGuestFeatures)
    {
        using var s = new CoreSession(guestFeatures: guestFeatures);
        var q = s.Vmm.Queues[queue];
        q.Err.Consume();

        attack(s, q);
        var usedBefore = q.UsedIndex;
        q.Notify();

        Assert.That(s.WaitBroken(queue), Is.True, $"queue {queue} stopped; log:\n{s.Log.Text}");
        s.Harness.Sync();
        Assert.Multiple(() =>
        {
            Assert.That(s.Log.Text, Does.Contain($"guest fault: queue {queue} stopped: ").And.Contain(expectedLog));
            Assert.That(q.Err.Consume(), Is.Not.Zero, "err eventfd signalled");
            Assert.That(q.UsedIndex, Is.EqualTo(usedBefore), "nothing completed for the bad chain");
        });

        // The backend keeps serving: config reads, the other queue, and this queue after the driver resets.
        s.AssertConfigAnswers();
        if (queue == Echo)
        {
            s.AssertEventQueueWorks();
        }
        else
        {
            s.AssertEchoWorks();
        }

        s.AssertBackendIntact();
        s.RestartDriver();
        s.AssertEchoWorks();
        s.AssertEventQueueWorks();
        s.AssertBackendIntact();
    }

    /// <summary>A guest buffer that holds the canary and must stay untouched (the device may not write it).</summary>
    private static ulong Unallowed(CoreSession s, ulong length) => s.Ram.Allocate(length);

    /// <summary>A small readable request the guest wrote.</summary>
    private static ulong Request(CoreSession s) => s.GuestData([0xD1, 0xD2, 0xD3, 0xD4]);
}
