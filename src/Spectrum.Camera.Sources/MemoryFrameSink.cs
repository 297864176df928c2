using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Sources;

/// <summary>
/// An <see cref="IFrameSink"/> over host memory, for tests, benchmarks and tools that want a frame as bytes.
/// Unlike the guest-buffer sink it throws on overflow: on the host a write past the end is a bug in a source
/// and should fail loudly. <see cref="Reset"/> makes it reusable so rendering into it allocates nothing.
/// </summary>
public sealed class MemoryFrameSink : IFrameSink
{
    /// <summary>A sink over <paramref name="destination"/>.</summary>
    public MemoryFrameSink(Memory<byte> destination) => Destination = destination;

    /// <summary>A sink over a new array of <paramref name="capacity"/> bytes.</summary>
    public MemoryFrameSink(int capacity)
        : this(new byte[capacity])
    {
    }

    /// <summary>The memory written into.</summary>
    public Memory<byte> Destination { get; }

    /// <summary>How many bytes have been written since construction or the last <see cref="Reset"/>.</summary>
    public int Written { get; private set; }

    /// <summary>How many <see cref="Write"/> calls there were; a row-by-row source makes one a row.</summary>
    public int WriteCount { get; private set; }

    /// <summary>The bytes written so far.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => Destination[..Written];

    /// <summary>Starts over at the beginning of <see cref="Destination"/>.</summary>
    public void Reset()
    {
        Written = 0;
        WriteCount = 0;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The bytes do not fit in what is left of the destination.</exception>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > Destination.Length - Written)
        {
            throw new InvalidOperationException(
                $"Write of {bytes.Length} bytes at offset {Written} overflows the {Destination.Length}-byte sink.");
        }

        bytes.CopyTo(Destination.Span[Written..]);
        Written += bytes.Length;
        WriteCount++;
    }
}
