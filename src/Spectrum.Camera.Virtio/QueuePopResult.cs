namespace Spectrum.Camera.Virtio;

/// <summary>Outcome of trying to take one chain from the avail ring.</summary>
public enum QueuePopResult
{
    /// <summary>The avail ring holds nothing new.</summary>
    Empty,

    /// <summary>A valid chain was taken.</summary>
    Chain,

    /// <summary>The driver broke the rules; the queue is stopped until the driver restarts it (see Violation).</summary>
    Broken,
}
