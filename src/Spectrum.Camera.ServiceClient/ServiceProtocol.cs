using System.Text;
using Spectrum.Camera.Protocol;

namespace Spectrum.Camera.ServiceClient;

/// <summary>The numbers both of a sidecar's camera-service protocols share (protocol/*.proto).</summary>
internal static class ServiceProtocol
{
    /// <summary>The protocol version both sides speak (hello and welcome carry it).</summary>
    public const uint Version = 1;

    /// <summary>Largest packet either side sends.</summary>
    public const int MaxPacketBytes = 4096;

    /// <summary>Reconnect attempts, handshake checks and counter reports happen on this period.</summary>
    public const long TickNanoseconds = 1_000_000_000;

    /// <summary>Ticks a connection may wait for its welcome before it is dropped (a hung service).</summary>
    public const int HandshakeTicks = 5;

    /// <summary>Bytes of sockaddr_un.sun_path, NUL included.</summary>
    private const int SocketPathCapacity = 108;

    /// <summary>Why a client for <paramref name="vm"/> cannot use <paramref name="serviceSocketPath"/>, or null when it can.</summary>
    public static string? ConfigurationProblem(string serviceSocketPath, string vm)
    {
        ArgumentNullException.ThrowIfNull(serviceSocketPath);
        ArgumentNullException.ThrowIfNull(vm);
        var pathBytes = Encoding.UTF8.GetByteCount(serviceSocketPath);
        if (pathBytes is 0 or >= SocketPathCapacity)
        {
            return $"camera service socket path must be 1..{SocketPathCapacity - 1} bytes, got {pathBytes}: {serviceSocketPath}";
        }

        return VmNames.IsValid(vm)
            ? null
            : $"VM name '{vm}' cannot be used with the camera service: it must match {VmNames.Pattern}";
    }
}
