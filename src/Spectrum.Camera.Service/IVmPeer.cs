namespace Spectrum.Camera.Service;

/// <summary>
/// A VM-side peer's connection as the service's accept path sees it (<see cref="PeerSession{TIn,TOut}"/>): who it is,
/// whether it is still open, and how to turn it away.
/// </summary>
internal interface IVmPeer
{
    /// <summary>"sidecar", "producer".</summary>
    string PeerKind { get; }

    int PeerPid { get; }

    bool IsClosed { get; }

    /// <summary>Sends the service's refusal, saying why, and closes.</summary>
    void Refuse(string reason);

    /// <summary>Closes at once; the service hears of it from a posted loop callback.</summary>
    void Close(string reason);
}
