using System.Collections.Concurrent;
using Tmds.DBus.Protocol;

namespace Spectrum.Camera.Cli.Notify;

/// <summary>
/// A client of the desktop's notification server (org.freedesktop.Notifications on the session bus, as in the
/// Desktop Notifications Specification 1.2): posts and closes notifications, and collects the ActionInvoked and
/// NotificationClosed signals addressed to this connection for the caller's loop to take with <see cref="TryTake"/>.
/// The D-Bus wire protocol is Tmds.DBus.Protocol's; this class only names the methods and signals.
/// </summary>
internal sealed class DesktopNotifications : IDisposable
{
    private const string Service = "org.freedesktop.Notifications";
    private const string ObjectPath = "/org/freedesktop/Notifications";
    private const string Interface = "org.freedesktop.Notifications";

    private readonly DBusConnection _bus;
    private readonly ConcurrentQueue<NotificationSignal> _signals = new();
    private readonly List<IDisposable> _watches = [];

    private DesktopNotifications(DBusConnection bus) => _bus = bus;

    /// <summary>The notification server's name and version ("dunst 1.11.0").</summary>
    public string Server { get; private set; } = "";

    /// <summary>
    /// Connects to the session bus at <paramref name="address"/> and asks the notification server who it is.
    /// Throws <see cref="NotificationServerException"/> saying what is missing.
    /// </summary>
    public static DesktopNotifications Connect(string address)
    {
        var bus = new DBusConnection(address);
        var notifications = new DesktopNotifications(bus);
        try
        {
            bus.ConnectAsync().AsTask().GetAwaiter().GetResult();
            notifications.Watch("ActionInvoked", static (Message m, object? _) =>
            {
                var reader = m.GetBodyReader();
                return new NotificationSignal(reader.ReadUInt32(), reader.ReadString(), 0);
            });
            notifications.Watch("NotificationClosed", static (Message m, object? _) =>
            {
                var reader = m.GetBodyReader();
                return new NotificationSignal(reader.ReadUInt32(), null, reader.ReadUInt32());
            });
            notifications.Server = bus.CallMethodAsync(notifications.Call("GetServerInformation", ""), static (Message m, object? _) =>
            {
                var reader = m.GetBodyReader();
                var name = reader.ReadString();
                _ = reader.ReadString();
                var version = reader.ReadString();
                return $"{name} {version}";
            }).GetAwaiter().GetResult();
            return notifications;
        }
        catch (Exception e) when (e is DBusExceptionBase or DBusConnectionException or IOException)
        {
            notifications.Dispose();
            throw new NotificationServerException(
                $"no desktop notification server answers on the session bus {address}: {e.Message} "
                + "(run 'spectrum-camera notify' in the desktop session, whose notification daemon owns org.freedesktop.Notifications)", e);
        }
    }

    /// <summary>
    /// Posts a notification and returns its id. <paramref name="actions"/> are (key, label) pairs shown as buttons
    /// (or a context menu); <paramref name="urgency"/> 0 low, 1 normal, 2 critical; <paramref name="expireMs"/>
    /// -1 for the server's default, 0 for never.
    /// </summary>
    public uint Notify(string summary, string body, IReadOnlyList<(string Key, string Label)> actions, byte urgency, int expireMs)
    {
        var writer = _bus.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: Service, path: ObjectPath, @interface: Interface, member: "Notify",
            signature: "susssasa{sv}i");
        writer.WriteString("Spectrum Camera");
        writer.WriteUInt32(0);
        writer.WriteString("camera-web");
        writer.WriteString(summary);
        writer.WriteString(body);
        writer.WriteArray(actions.SelectMany(a => new[] { a.Key, a.Label }).ToArray());
        writer.WriteDictionary(new Dictionary<string, VariantValue>
        {
            ["urgency"] = urgency,
            ["category"] = "device",
            ["desktop-entry"] = "spectrum-camera",
        });
        writer.WriteInt32(expireMs);
        var message = writer.CreateMessage();
        writer.Dispose();
        return Run(_bus.CallMethodAsync(message, static (Message m, object? _) => m.GetBodyReader().ReadUInt32()));
    }

    /// <summary>Closes notification <paramref name="id"/> (nothing happens when it is gone already).</summary>
    public void Close(uint id)
    {
        var writer = _bus.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: Service, path: ObjectPath, @interface: Interface, member: "CloseNotification",
            signature: "u");
        writer.WriteUInt32(id);
        var message = writer.CreateMessage();
        writer.Dispose();
        Run(_bus.CallMethodAsync(message));
    }

    /// <summary>The next signal the server sent this connection (an action invoked, a notification closed), if any.</summary>
    public bool TryTake(out NotificationSignal signal) => _signals.TryDequeue(out signal!);

    public void Dispose()
    {
        foreach (var watch in _watches)
        {
            watch.Dispose();
        }

        _bus.Dispose();
    }

    private MessageBuffer Call(string member, string signature)
    {
        var writer = _bus.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: Service, path: ObjectPath, @interface: Interface, member: member,
            signature: signature.Length == 0 ? null : signature);
        var message = writer.CreateMessage();
        writer.Dispose();
        return message;
    }

    private void Watch(string signal, MessageValueReader<NotificationSignal> reader)
    {
        var watch = _bus.WatchSignalAsync(sender: null, path: ObjectPath, @interface: Interface, signal: signal, reader: reader,
            handler: (Notification<NotificationSignal> notification) =>
            {
                if (notification.HasValue)
                {
                    _signals.Enqueue(notification.Value);
                }
            },
            flags: ObserverFlags.None, emitOnCapturedContext: false).AsTask().GetAwaiter().GetResult();
        _watches.Add(watch);
    }

    private static T Run<T>(Task<T> call)
    {
        try
        {
            return call.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is DBusExceptionBase or DBusConnectionException)
        {
            throw new NotificationServerException($"the notification server failed a call: {e.Message}", e);
        }
    }

    private static void Run(Task call)
    {
        try
        {
            call.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is DBusExceptionBase or DBusConnectionException)
        {
            throw new NotificationServerException($"the notification server failed a call: {e.Message}", e);
        }
    }
}

/// <summary>A signal from the notification server: ActionInvoked (<see cref="Action"/> set) or NotificationClosed.</summary>
internal readonly record struct NotificationSignal(uint Id, string? Action, uint ClosedReason);

/// <summary>The session bus or the notification server is missing or failed.</summary>
internal sealed class NotificationServerException(string message, Exception inner) : Exception(message, inner);
