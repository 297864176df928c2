using System.Globalization;
using System.Runtime.InteropServices;
using Spectrum.Camera.HostileDevice;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Sources;
using Spectrum.Camera.VhostUser;

// spectrum-camera-hostile-device: test-only. Serves the real virtio-media device (test pattern) over the real
// vhost-user backend, like 'spectrum-camera serve', but corrupts answers and events on purpose (Fault).
const string Help = """
    Usage: spectrum-camera-hostile-device --socket-path PATH [--vm NAME] [--fault NAME] [--seed N] [--log-level LEVEL]
           spectrum-camera-hostile-device --list-faults

    TEST ONLY. A virtio-media vhost-user device that answers with malformed data, to check that the guest driver
    turns every bad answer into an error and never crashes (tests/e2e/hostile.sh). The guest switches faults at run
    time with VIDIOC_S_INPUT 0x484F5300 + the fault's number (v4l2-ctl --set-input=...); the selecting session is
    exempt until it closes, and a device reset (driver reload, reboot) returns to 'none'. --fault sets the first one.
    Exits 0 when the VMM disconnects or on SIGTERM, like spectrum-camera serve.
    """;

string? socketPath = null, vm = "hostile", faultName = "none";
var seed = 1;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--socket-path": socketPath = Next(); break;
        case "--vm": vm = Next(); break;
        case "--fault": faultName = Next(); break;
        case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--log-level":
            Log.MinimumLevel = Next() switch
            {
                "debug" => LogLevel.Debug, "info" => LogLevel.Info, "warning" => LogLevel.Warning, _ => LogLevel.Error,
            };
            break;
        case "--list-faults":
            foreach (var f in Faults.All)
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(int)f} {f.Name()} 0x{HostileMediaDevice.ControlMagic + (uint)f:x8}"));
            }

            return 0;
        case "--help" or "-h":
            Console.Out.WriteLine(Help);
            return 0;
        default:
            Console.Error.WriteLine($"spectrum-camera-hostile-device: unknown argument '{args[i]}' (see --help)");
            return 2;
    }
}

if (socketPath is null || !Faults.TryParse(faultName!, out var initial))
{
    Console.Error.WriteLine(Help);
    return 2;
}

Log.Scope = vm!;
using var loop = new EventLoop();
using var inner = new VirtioMediaDevice(new MediaDeviceOptions(MediaDeviceOptions.DefaultCard, StableMenu.Default, new TestPatternSource()));
using var device = new HostileMediaDevice(inner, initial, seed);
using var stopOnTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; loop.RequestStop(); });
using var stopOnInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; loop.RequestStop(); });
using var server = VhostUserServer.Listen(socketPath, device, loop);
Log.Warning("hostile", $"TEST-ONLY hostile device listening on {socketPath}, first fault {initial.Name()}");
var exitCode = 0;
server.Disconnected += reason =>
{
    exitCode = reason == VhostUserBackend.DisconnectReason.EndOfStream ? 0 : 1;
    loop.RequestStop();
};
server.Start();
loop.Run();

Log.Info("hostile", $"exiting: {device.Summary()}");
return exitCode;
