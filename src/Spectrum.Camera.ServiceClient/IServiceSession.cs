using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol.Service;

namespace Spectrum.Camera.ServiceClient;

/// <summary>What a <see cref="ServiceConnection"/> reports to the frame source that owns it, on the loop thread.</summary>
internal interface IServiceSession
{
    /// <summary>The service welcomed this VM (version and name already checked).</summary>
    void OnWelcomed(Welcome welcome);

    /// <summary>
    /// A message after Welcome other than Welcome or Refused. <paramref name="memfd"/> is the ring's memfd for
    /// RingAttached (null otherwise); it is closed after this returns, so a mapping must be made before.
    /// </summary>
    void OnMessage(ServiceMessage message, FdHandle? memfd);

    /// <summary>The connection is gone (closed, refused or dropped): nothing real may be shown any more.</summary>
    void OnDisconnected();

    /// <summary>The once-a-second tick of a welcomed connection.</summary>
    void OnTick();
}
