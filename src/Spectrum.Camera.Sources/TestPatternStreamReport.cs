namespace Spectrum.Camera.Sources;

/// <summary>
/// What <see cref="TestPatternVerifier.VerifyStream"/> found in a raw capture file: how many whole frames, how
/// many carried the test pattern and were byte-exact, and whether their frame numbers only went up.
/// </summary>
/// <param name="Frames">Whole frames in the file (its length divided by the frame size).</param>
/// <param name="TrailingBytes">Bytes after the last whole frame: nonzero means the file ends in a truncated frame.</param>
/// <param name="MarkedFrames">Frames carrying the test-pattern marker (their frame number could be read).</param>
/// <param name="ExactFrames">Marked frames equal byte for byte to what the test pattern renders for their number.</param>
/// <param name="BlackFrames">Frames that are entirely limited-range black.</param>
/// <param name="FirstFrameNumber">The number of the first marked frame, if any.</param>
/// <param name="LastFrameNumber">The number of the last marked frame, if any.</param>
/// <param name="StrictlyIncreasing">
/// Whether every marked frame's number is greater than the previous marked frame's. Gaps are allowed: the device
/// drops a frame period when the client has no buffer queued.
/// </param>
/// <param name="FirstOutOfOrderIndex">The file position (0-based frame index) of the first frame whose number did not increase.</param>
/// <param name="OutOfOrderFrames">How many marked frames had a number not greater than the previous one.</param>
/// <param name="SkippedNumbers">Frame numbers missing between consecutive increasing marked frames (dropped frames).</param>
public sealed record TestPatternStreamReport(
    int Frames,
    int TrailingBytes,
    int MarkedFrames,
    int ExactFrames,
    int BlackFrames,
    uint? FirstFrameNumber,
    uint? LastFrameNumber,
    bool StrictlyIncreasing,
    int? FirstOutOfOrderIndex,
    int OutOfOrderFrames,
    ulong SkippedNumbers)
{
    /// <summary>
    /// The verdict an end-to-end run wants: at least one frame, every frame an exact test-pattern frame, numbers
    /// strictly increasing, and no truncated tail.
    /// </summary>
    public bool IsCleanTestPatternStream =>
        Frames > 0 && ExactFrames == Frames && StrictlyIncreasing && TrailingBytes == 0;
}
