namespace Spectrum.Camera.Service;

/// <summary>An answer that holds for one stream of a VM, whatever its standing policy, until the stream stops.</summary>
internal enum StreamAnswer
{
    /// <summary>The policy decides.</summary>
    None,

    /// <summary>Real frames until this stream stops.</summary>
    AllowOnce,

    /// <summary>Black until this stream stops (an operator's deny, or an unanswered request's timeout).</summary>
    DenyOnce,
}
