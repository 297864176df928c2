using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Output;

/// <summary>
/// An <see cref="IFrameDestination"/> that keeps a copy of every frame the output device commits, as the sidecar's
/// producer client hands frames to the camera service. It lives on the device loop like the real one (tests read it
/// through the harness's OnLoop); the test sets its demand and whether it has room. It holds the device to the
/// interface's contract: a begun frame must be committed or aborted before the next one begins.
/// </summary>
internal sealed class RecordingDestination : IFrameDestination
{
    /// <summary>What an unwritten frame byte holds, so a frame that was not copied whole shows.</summary>
    public const byte Unwritten = 0xCD;

    private byte[] _frame = [];
    private bool _writing;

    public RecordingDestination(FrameDemand? demand = null) => Demand = demand;

    public string Name => "recording";

    public FrameDemand? Demand { get; private set; }

    public event Action? DemandChanged;

    /// <summary>False makes <see cref="TryBeginFrame"/> refuse even while frames are wanted (no frame memory yet).</summary>
    public bool HasRoom { get; set; } = true;

    /// <summary>Every committed frame with the sequence it was committed as, oldest first.</summary>
    public List<(ulong Sequence, byte[] Bytes)> Frames { get; } = [];

    /// <summary>Frames begun and then forgotten (<see cref="AbortFrame"/>).</summary>
    public int Aborted { get; private set; }

    /// <summary>Frames refused because nobody wanted them or there was no room.</summary>
    public int Refused { get; private set; }

    /// <summary>The streams started, with their format and rate.</summary>
    public List<(FrameFormat Format, FrameRate Rate)> Streams { get; } = [];

    public int StreamsStopped { get; private set; }

    /// <summary>Sets the demand and raises <see cref="DemandChanged"/> (call on the device loop).</summary>
    public void SetDemand(FrameDemand? demand)
    {
        Demand = demand;
        DemandChanged?.Invoke();
    }

    public void StreamStarted(FrameFormat format, FrameRate rate) => Streams.Add((format, rate));

    public void StreamStopped() => StreamsStopped++;

    public bool TryBeginFrame(FrameFormat format, out Span<byte> frame)
    {
        if (_writing)
        {
            throw new InvalidOperationException("a frame was begun while the previous one was neither committed nor aborted");
        }

        if (Demand is null || !HasRoom)
        {
            Refused++;
            frame = default;
            return false;
        }

        if (_frame.Length != format.SizeImage)
        {
            _frame = new byte[format.SizeImage];
        }

        _frame.AsSpan().Fill(Unwritten);
        _writing = true;
        frame = _frame;
        return true;
    }

    public void CommitFrame(ulong sequence)
    {
        EndFrame();
        Frames.Add((sequence, _frame.ToArray()));
    }

    public void AbortFrame()
    {
        EndFrame();
        Aborted++;
    }

    private void EndFrame()
    {
        if (!_writing)
        {
            throw new InvalidOperationException("no frame was begun");
        }

        _writing = false;
    }
}
