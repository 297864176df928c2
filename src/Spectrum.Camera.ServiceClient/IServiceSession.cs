using Spectrum.Camera.Native;

namespace Spectrum.Camera.ServiceClient;

/// <summary>What a <see cref="ServiceConnection{TIn,TOut}"/> reports to the client that owns it, on the loop thread.</summary>
internal interface IServiceSession<in TIn>
{
    /// <summary>The service welcomed this VM (version and name already checked).</summary>
    void OnWelcomed(TIn welcome);

    /// <summary>
    /// A message after the welcome other than another welcome or a refusal. <paramref name="memfd"/> is the ring's
    /// memfd for a message that carries one (null otherwise); it is closed after this returns, so a mapping must be
    /// made before.
    /// </summary>
    void OnMessage(TIn message, FdHandle? memfd);

    /// <summary>The connection is gone (closed, refused or dropped).</summary>
    void OnDisconnected();

    /// <summary>The once-a-second tick of a welcomed connection.</summary>
    void OnTick();
}
