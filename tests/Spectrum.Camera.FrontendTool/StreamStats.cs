namespace Spectrum.Camera.FrontendTool;

/// <summary>What one stream delivered, for its summary line.</summary>
internal sealed class StreamStats(int stream, StreamSpec spec, uint sizeImage)
{
    private readonly HashSet<ulong> _hashes = [];
    private long _black, _testPattern, _image, _errors, _wrongSize, _notRising;
    private long _maxSequenceGap, _maxArrivalGapMs, _firstAt = -1, _lastAt = -1;
    private string? _lastClass;
    private long _classChanges, _run;

    public int Stream { get; } = stream;

    /// <summary>EVT_DQBUF events of an earlier session, ignored.</summary>
    public long StaleEvents { get; set; }

    /// <summary>Whether the stream ended because --until was met.</summary>
    public bool? UntilMet { get; set; }

    /// <summary>How many frames in a row, up to the last, were of <paramref name="cls"/>.</summary>
    public long Run(string cls) => _lastClass == cls ? _run : 0;

    public long Frames { get; private set; }

    public long? FirstSequence { get; private set; }

    public long? LastSequence { get; private set; }

    public void Add(uint sequence, uint bytesUsed, bool error, string cls, ulong hash, long nowMs)
    {
        Frames++;
        switch (cls)
        {
            case FrameClass.Black: _black++; break;
            case FrameClass.TestPattern: _testPattern++; break;
            default: _image++; break;
        }

        if (_lastClass is not null && _lastClass != cls)
        {
            _classChanges++;
            _run = 0;
        }

        _run++;

        _lastClass = cls;
        _errors += error ? 1 : 0;
        _wrongSize += bytesUsed != sizeImage ? 1 : 0;
        if (cls != FrameClass.Black)
        {
            _hashes.Add(hash);
        }

        if (LastSequence is { } last)
        {
            if (sequence <= last)
            {
                _notRising++;
            }
            else
            {
                _maxSequenceGap = Math.Max(_maxSequenceGap, sequence - last);
            }
        }

        FirstSequence ??= sequence;
        LastSequence = sequence;
        if (_lastAt >= 0)
        {
            _maxArrivalGapMs = Math.Max(_maxArrivalGapMs, nowMs - _lastAt);
        }

        if (_firstAt < 0)
        {
            _firstAt = nowMs;
        }

        _lastAt = nowMs;
    }

    public JsonLine Summary(long nowMs, string? failure)
    {
        var span = _lastAt - _firstAt;
        return new JsonLine("summary").Add("stream", Stream).Add("request", spec.ToString()).Add("frames", Frames)
            .Add("black", _black).Add("test_pattern", _testPattern).Add("image", _image)
            .Add("distinct_non_black", (long)_hashes.Count).Add("class_changes", _classChanges)
            .Add("error_flagged", _errors).Add("wrong_bytesused", _wrongSize)
            .Add("first_sequence", FirstSequence ?? -1).Add("last_sequence", LastSequence ?? -1)
            .Add("sequence_strictly_increasing", _notRising == 0).Add("max_sequence_gap", _maxSequenceGap)
            .Add("max_arrival_gap_ms", _maxArrivalGapMs).Add("stale_events", StaleEvents)
            .Add("until_met", UntilMet is { } met ? (met ? "yes" : "no") : null)
            .Add("mean_fps", Frames > 1 && span > 0 ? (Frames - 1) * 1000.0 / span : 0)
            .Add("t_ms", nowMs).Add("error", failure);
    }
}
