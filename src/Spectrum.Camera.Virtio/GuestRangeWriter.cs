namespace Spectrum.Camera.Virtio;

/// <summary>
/// Writes a byte stream sequentially into a list of guest ranges (a chain's writable part, or the SG list of a
/// guest buffer), translating each range through the current memory map at write time. Reusable: callers keep one
/// instance and <see cref="Reset"/> it, so the frame path does not allocate.
/// </summary>
public sealed unsafe class GuestRangeWriter
{
    private GuestMemory _memory = GuestMemory.Empty;
    private GuestRange[] _ranges = [];
    private int _end;
    private int _index;
    private uint _offsetInRange;

    /// <summary>Bytes written since the last reset.</summary>
    public ulong Written { get; private set; }

    /// <summary>Bytes that still fit.</summary>
    public ulong Remaining { get; private set; }

    /// <summary>True when a write did not fit or a range no longer translated; nothing more is written then.</summary>
    public bool Faulted { get; private set; }

    /// <summary>Starts a new stream over ranges[start .. start+count).</summary>
    public void Reset(GuestMemory memory, GuestRange[] ranges, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(ranges);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, ranges.Length - start);
        _memory = memory;
        _ranges = ranges;
        _index = start;
        _end = start + count;
        _offsetInRange = 0;
        Written = 0;
        Faulted = false;
        ulong total = 0;
        for (var i = start; i < _end; i++)
        {
            total += ranges[i].Length;
        }

        Remaining = total;
    }

    /// <summary>Appends <paramref name="bytes"/>; returns false (and writes nothing) if they do not all fit.</summary>
    public bool Write(ReadOnlySpan<byte> bytes)
    {
        if (Faulted || (ulong)bytes.Length > Remaining)
        {
            Faulted = true;
            return false;
        }

        while (!bytes.IsEmpty)
        {
            var range = _ranges[_index];
            var room = range.Length - _offsetInRange;
            var n = (int)Math.Min(room, (uint)bytes.Length);
            var p = _memory.TryTranslate(range.Address + _offsetInRange, (ulong)n);
            if (p == null)
            {
                // The memory map changed under a held range: stop rather than write somewhere else.
                Faulted = true;
                return false;
            }

            bytes[..n].CopyTo(new Span<byte>(p, n));
            bytes = bytes[n..];
            Written += (ulong)n;
            Remaining -= (ulong)n;
            _offsetInRange += (uint)n;
            if (_offsetInRange == range.Length)
            {
                _index++;
                _offsetInRange = 0;
            }
        }

        return true;
    }
}
