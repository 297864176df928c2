using System.Runtime.InteropServices;
using Spectrum.Camera.Cli.Ctl;
using Spectrum.Camera.Cli.Notify;
using Spectrum.Camera.Native.Diagnostics;

namespace Spectrum.Camera.Cli;

/// <summary>
/// spectrum-camera notify: the camera service's desktop indicator and prompt, run in the operator's desktop session
/// (docs/camera-service.md). Exit status: 0 on SIGTERM/SIGINT, 1 when the service or the notification server is
/// missing or goes away, 2 on bad usage.
/// </summary>
internal static class NotifyCommand
{
    private const string Help = """
        Usage: spectrum-camera notify [--operator-socket PATH] [--log-level LEVEL]

        Runs in the operator's desktop session and shows the camera service's news as desktop notifications
        (org.freedesktop.Notifications on the session bus: GNOME, KDE, dunst, mako, xfce4-notifyd, ...):
          - a request of a VM in ask mode, with the actions Allow once (this stream), Always (policy allow) and Deny
            (this stream; the next one asks again); the notification closes when the request is answered anywhere,
            times out or is withdrawn;
          - a VM starting or stopping to receive real camera frames.
        The VM cannot fake these: they come from the host's camera service, not from the guest.

        Options:
          --operator-socket PATH  The camera service's operator socket (default: $SPECTRUM_CAMERA_OPERATOR_SOCKET,
                                  else /run/spectrum-camera/operator.sock). The user must be an operator.
          --log-level LEVEL       debug, info (default), warning or error (on stderr).
          --help                  Show this help.

        The session bus is $DBUS_SESSION_BUS_ADDRESS. Exit status: 0 on SIGTERM/SIGINT, 1 when the camera service or
        the notification server is missing or goes away, 2 on bad usage.
        """;

    public static int Run(string[] args)
    {
        var cl = CommandLine.Parse(args, ["--operator-socket", "--log-level"], []);
        if (cl.HelpRequested)
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        if (cl.Positional.Count > 0)
        {
            throw new UsageException($"unexpected argument '{cl.Positional[0]}'");
        }

        Log.MinimumLevel = CommandLine.ParseLogLevel(cl.Get("--log-level") ?? "info");
        Log.Scope = "notify";
        var socket = cl.Get("--operator-socket")
            ?? (Environment.GetEnvironmentVariable(CtlCommand.SocketEnvironmentVariable) is { Length: > 0 } fromEnv ? fromEnv : CtlCommand.DefaultSocket);
        var bus = Environment.GetEnvironmentVariable("DBUS_SESSION_BUS_ADDRESS");
        if (string.IsNullOrEmpty(bus))
        {
            Log.Error("notify", "DBUS_SESSION_BUS_ADDRESS is not set: run 'spectrum-camera notify' inside the desktop session");
            return 1;
        }

        var stop = false;
        try
        {
            using var desktop = DesktopNotifications.Connect(bus);
            using var events = OperatorClient.Connect(socket);
            using var answers = OperatorClient.Connect(socket);
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Volatile.Write(ref stop, true); });
            using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; Volatile.Write(ref stop, true); });
            return new RequestNotifier(events, answers, desktop).Run(() => Volatile.Read(ref stop));
        }
        catch (NotificationServerException e)
        {
            Log.Error("notify", e.Message);
            return 1;
        }
        catch (CtlFailure e)
        {
            Log.Error("notify", e.Message);
            return 1;
        }
    }
}
