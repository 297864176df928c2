using System.Runtime.CompilerServices;
using Spectrum.Camera.Virtio;

// The one consumer of this interception point: a test-only executable, never built into spectrum-camera.
[assembly: InternalsVisibleTo("spectrum-camera-hostile-device")]

namespace Spectrum.Camera.VhostUser;

/// <summary>
/// Test-only interception point for the hostile-device end-to-end test (tests/Spectrum.Camera.HostileDevice): it sees
/// every completion a device makes on a <see cref="DeviceQueue"/> before it reaches the used ring, and may rewrite the
/// answer in guest memory, change the used length, or keep the chain (a command never answered). Internal, and set
/// only by that executable: no production code path or command-line flag reaches it.
/// </summary>
internal interface ICompletionInterceptor
{
    /// <summary>
    /// Called on the device loop thread from <see cref="DeviceQueue.Complete"/>. Returns true to publish the chain with
    /// <paramref name="written"/> bytes, false when the interceptor took the chain over (holds it, or completed it
    /// itself through <see cref="DeviceQueue.Ring"/>).
    /// </summary>
    bool BeforeComplete(DeviceQueue queue, DescriptorChain chain, ref uint written);
}
