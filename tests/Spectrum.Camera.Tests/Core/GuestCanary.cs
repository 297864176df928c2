using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// Fills guest RAM with a canary byte and later checks that the device wrote nothing outside the ranges a test allows
/// (rings, buffers the guest wrote, writable parts of valid chains). The RAM hole is checked too.
/// </summary>
internal sealed class GuestCanary
{
    public const byte Value = 0x5A;

    private readonly GuestRam _ram;
    private readonly List<(ulong Start, ulong End)> _allowed = [];

    public GuestCanary(GuestRam ram)
    {
        _ram = ram;
        for (ulong gpa = 0; gpa < ram.Size; gpa += Chunk)
        {
            ram.Span(gpa, (int)Math.Min(Chunk, ram.Size - gpa)).Fill(Value);
        }
    }

    private const ulong Chunk = 1UL << 20;

    /// <summary>Excludes [gpa, gpa+length) from the check (clamped to RAM).</summary>
    public void Allow(ulong gpa, ulong length)
    {
        if (gpa < _ram.Size && length > 0)
        {
            _allowed.Add((gpa, gpa + Math.Min(length, _ram.Size - gpa)));
        }
    }

    /// <summary>Zeroes a fresh ring's memory and allows it (the device writes the used ring).</summary>
    public void AdoptRings(GuestVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        Zero(queue.DescGpa, 16UL * queue.Size);
        Zero(queue.AvailGpa, 6UL + (2UL * queue.Size));
        Zero(queue.UsedGpa, 6UL + (8UL * queue.Size));
    }

    /// <summary>Allocates a guest buffer (allowed: the guest or the device may write it).</summary>
    public ulong Buffer(ulong length, ulong alignment = 16)
    {
        var gpa = _ram.Allocate(length, alignment);
        Allow(gpa, length);
        return gpa;
    }

    /// <summary>The first canary byte that changed, or null when every unallowed byte is intact.</summary>
    public ulong? FirstDamage()
    {
        var allowed = _allowed.OrderBy(a => a.Start).ToList();
        ulong cursor = 0;
        foreach (var (start, end) in allowed.Append((_ram.Size, _ram.Size)))
        {
            if (start > cursor && Check(cursor, start) is { } damage)
            {
                return damage;
            }

            cursor = Math.Max(cursor, end);
        }

        return null;
    }

    private ulong? Check(ulong start, ulong end)
    {
        for (var gpa = start; gpa < end; gpa += Chunk)
        {
            var length = (int)Math.Min(Chunk, end - gpa);
            var at = _ram.Span(gpa, length).IndexOfAnyExcept(Value);
            if (at >= 0)
            {
                return gpa + (ulong)at;
            }
        }

        return null;
    }

    private void Zero(ulong gpa, ulong length)
    {
        _ram.Span(gpa, (int)length).Clear();
        Allow(gpa, length);
    }
}
