using System.Buffers.Binary;

namespace Spectrum.Camera.Virtio;

/// <summary>
/// Walks and validates one descriptor chain (virtio 1.x §2.7.5 and §2.7.13, indirect descriptors §2.7.5.3). Every rule lives here:
/// loop bound, next range, readable-before-writable order, address ranges in guest RAM, zero lengths, 32-bit length
/// overflow and the indirect rules. Each descriptor is read from guest memory once into locals (no double fetch).
/// </summary>
internal static unsafe class DescriptorChainWalker
{
    /// <summary>Indirect tables larger than this are refused (libvhost-user's cap; Linux never builds bigger ones).</summary>
    public const uint MaxIndirectEntries = 1024;

    private const ushort FlagNext = 1;
    private const ushort FlagWrite = 2;
    private const ushort FlagIndirect = 4;

    /// <summary>Fills <paramref name="chain"/>; returns null when valid or a one-line reason when not.</summary>
    public static string? Walk(GuestMemory memory, byte* table, uint tableSize, ushort head, bool indirectAllowed, DescriptorChain chain)
    {
        chain.Clear();
        var current = table;
        var currentSize = tableSize;
        uint index = head;
        uint budget = tableSize;
        uint visited = 0;
        var inIndirect = false;
        var seenWritable = false;
        ulong total = 0;

        while (true)
        {
            // A chain can visit each table entry at most once; more means a loop (VirtIO §2.7.5.3.1).
            if (++visited > budget)
            {
                return $"descriptor chain from head {head} is longer than its table ({budget} entries): a loop";
            }

            var d = new ReadOnlySpan<byte>(current + (16 * index), 16);
            var addr = BinaryPrimitives.ReadUInt64LittleEndian(d);
            var len = BinaryPrimitives.ReadUInt32LittleEndian(d[8..]);
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(d[12..]);
            var next = BinaryPrimitives.ReadUInt16LittleEndian(d[14..]);

            if ((flags & FlagIndirect) != 0)
            {
                if (!indirectAllowed)
                {
                    return $"descriptor {index} is INDIRECT but VIRTIO_RING_F_INDIRECT_DESC was not negotiated";
                }

                if (inIndirect)
                {
                    return $"nested indirect descriptor at index {index} of an indirect table";
                }

                if ((flags & FlagNext) != 0)
                {
                    return $"descriptor {index} has both INDIRECT and NEXT";
                }

                if (len == 0 || len % 16 != 0 || len / 16 > MaxIndirectEntries)
                {
                    return $"indirect table length {len} is not a non-zero multiple of 16 up to {MaxIndirectEntries} entries";
                }

                var indirect = memory.TryTranslate(addr, len);
                if (indirect == null)
                {
                    return $"indirect table [0x{addr:x}, +{len}) is not in guest RAM";
                }

                if (addr % 16 != 0)
                {
                    return $"indirect table at 0x{addr:x} is not 16-byte aligned";
                }

                current = indirect;
                currentSize = len / 16;
                budget = currentSize;
                visited = 0;
                index = 0;
                inIndirect = true;
                continue;
            }

            if (len == 0)
            {
                return $"descriptor {index} has length 0";
            }

            if (!memory.Contains(addr, len))
            {
                return $"descriptor {index} buffer [0x{addr:x}, +{len}) is not in guest RAM";
            }

            var writable = (flags & FlagWrite) != 0;
            if (!writable && seenWritable)
            {
                return $"descriptor {index} is device-readable after a device-writable one";
            }

            seenWritable |= writable;
            total += len;
            if (total > uint.MaxValue)
            {
                return $"descriptor chain from head {head} totals more than 2^32-1 bytes";
            }

            chain.Add(new GuestRange(addr, len), writable);
            if ((flags & FlagNext) == 0)
            {
                return null;
            }

            if (next >= currentSize)
            {
                return $"descriptor {index} has next {next}, outside its table of {currentSize}";
            }

            index = next;
        }
    }
}
