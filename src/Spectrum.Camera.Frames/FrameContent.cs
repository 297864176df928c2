namespace Spectrum.Camera.Frames;

/// <summary>What a rendered frame holds; counted per VM for operators and audits.</summary>
public enum FrameContent
{
    /// <summary>Black at the negotiated format (no permission, no camera, or the black source).</summary>
    Black,

    /// <summary>The synthetic test pattern.</summary>
    TestPattern,

    /// <summary>A frame from a real host camera.</summary>
    Camera,
}
