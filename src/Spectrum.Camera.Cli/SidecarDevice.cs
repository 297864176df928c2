using Spectrum.Camera.Frames;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.ServiceClient;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Threading;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Cli;

/// <summary>
/// The device one <c>serve</c> process offers its VM, with the camera-service client that lives beside it on the
/// device loop: a VM's camera (the capture role: frames from a source) or a camera VM's output device (the producer
/// role: frames to the camera service's producer socket). Disposing it disposes both, the client last.
/// </summary>
internal sealed class SidecarDevice : IDisposable
{
    private readonly MediaDevice _device;
    private readonly IDisposable? _client;
    private readonly Func<string> _summary;

    private SidecarDevice(MediaDevice device, IDisposable? client, string description, Func<string> summary)
    {
        _device = device;
        _client = client;
        Description = description;
        _summary = summary;
    }

    public IVirtioDevice Device => _device;

    /// <summary>What is served, for the "listening" log line.</summary>
    public string Description { get; }

    /// <summary>What the device did with frames, for the exit log line.</summary>
    public string Summary() => _summary();

    /// <summary>The VM's camera; frames from <paramref name="sourceName"/> (test-pattern, black or camera-service).</summary>
    /// <param name="shmSize">Bytes of the shared-memory window for MMAP buffers (0: none).</param>
    public static SidecarDevice Capture(EventLoop loop, string sourceName, string? serviceSocket, string vm, string card, StableMenu menu,
        ulong shmSize)
    {
        CameraServiceSource? serviceSource = null;
        IFrameSource source = sourceName switch
        {
            "test-pattern" => new TestPatternSource(),
            "black" => new BlackFrameSource(),
            _ => serviceSource = new CameraServiceSource(loop, serviceSocket!, vm),
        };
        try
        {
            var device = new VirtioMediaDevice(new MediaDeviceOptions(card, menu, source) { SharedMemorySize = shmSize });
            if (serviceSource is not null)
            {
                Log.Info("serve", $"frames from the camera service at {serviceSource.ServiceSocketPath} " +
                                  "(black until it welcomes this VM with camera permission)");
            }

            var window = shmSize == 0 ? "no shared-memory window" : $"shared-memory window {shmSize >> 10} KiB";
            return new SidecarDevice(device, serviceSource, $"card \"{card}\", source {source.Name}, menu {menu}, {window}", () =>
            {
                var c = device.Counters;
                return $"{c.Delivered} frames delivered ({c.TestPattern} test pattern, {c.Black} black, {c.Camera} camera), " +
                       $"{c.Dropped} dropped, {c.Failed} failed, {c.Discarded} discarded (rendered, then withdrawn by STREAMOFF or close)";
            });
        }
        catch
        {
            serviceSource?.Dispose();
            throw;
        }
    }

    /// <summary>A camera VM's output device; its frames go to the camera service's producer socket <paramref name="serviceSocket"/>.</summary>
    public static SidecarDevice Producer(EventLoop loop, string serviceSocket, string vm, string card, StableMenu menu)
    {
        var client = new ProducerClient(loop, serviceSocket, vm);
        try
        {
            var device = new VirtioMediaOutputDevice(new OutputDeviceOptions(card, menu, client));
            Log.Info("serve", $"camera VM: frames go to the camera service's producer socket {client.ServiceSocketPath} " +
                              "(Frames Wanted stays 0 until it connects and wants frames)");
            return new SidecarDevice(device, client, $"output device \"{card}\", menu {menu}, no shared-memory window", () =>
            {
                var c = device.Counters;
                return $"{c.Forwarded} frames forwarded to the camera service ({client.FramesAnnounced} announced), " +
                       $"{c.Dropped} dropped (not wanted or no ring), {c.Failed} failed";
            });
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _device.Dispose();
        _client?.Dispose();
    }
}
