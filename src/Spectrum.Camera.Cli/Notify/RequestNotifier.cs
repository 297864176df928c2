using System.Globalization;
using Spectrum.Camera.Cli.Ctl;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Operator;
using Kind = Spectrum.Camera.Protocol.Operator.OperatorResponse.KindOneofCase;

namespace Spectrum.Camera.Cli.Notify;

/// <summary>
/// What 'spectrum-camera notify' does: turns the camera service's events into desktop notifications and the
/// operator's clicks into answers. A request of a VM in ask mode becomes a critical notification with the actions
/// Allow once, Always and Deny (deny for this stream); it is closed when the request closes. A VM starting or stopping
/// to receive real frames becomes a notification of its own. Events come from a Watch on one operator connection,
/// answers go out on another.
/// </summary>
internal sealed class RequestNotifier(OperatorClient events, OperatorClient answers, DesktopNotifications desktop)
{
    /// <summary>How long the loop waits for the service before it looks at the notification server's signals again.</summary>
    private const int PollMs = 100;

    private static readonly (string Key, string Label)[] RequestActions =
        [("allow-once", "Allow once"), ("allow-always", "Always"), ("deny-once", "Deny")];

    private readonly Dictionary<uint, CameraRequest> _byNotification = [];
    private readonly Dictionary<ulong, uint> _byRequest = [];

    /// <summary>Runs until <paramref name="stop"/> is set (exit 0) or the service goes away (CtlFailure).</summary>
    public int Run(Func<bool> stop)
    {
        ArgumentNullException.ThrowIfNull(stop);
        var watchId = events.Send(new OperatorRequest { Watch = new Watch() });
        Log.Info("notify", $"showing camera requests and real-frame changes from {events.SocketPath} on {desktop.Server}");
        try
        {
            while (!stop())
            {
                if (events.TryReceive(watchId, PollMs) is { } response)
                {
                    OnEvent(OperatorClient.Expect(response, Kind.Event).Event);
                }

                while (desktop.TryTake(out var signal))
                {
                    OnSignal(signal);
                }
            }
        }
        finally
        {
            // Buttons for requests nobody can answer through this program any more would only mislead.
            foreach (var id in _byNotification.Keys)
            {
                TryClose(id);
            }
        }

        return 0;
    }

    private void OnEvent(Event e)
    {
        switch (e.KindCase)
        {
            case Event.KindOneofCase.RequestRaised:
                var request = e.RequestRaised;
                if (_byRequest.ContainsKey(request.Id))
                {
                    break;
                }

                var left = CtlText.SecondsLeft(request, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                var id = desktop.Notify(
                    $"{request.Vm} wants the camera",
                    $"{request.Vm} asks for camera {request.Camera}: {request.GuestFormat} (request {request.Id.ToString(CultureInfo.InvariantCulture)}). "
                    + $"Unanswered, it is denied for this stream in {left.ToString(CultureInfo.InvariantCulture)} s.",
                    RequestActions, urgency: 2, expireMs: (int)Math.Min(int.MaxValue, left * 1000));
                _byNotification[id] = request;
                _byRequest[request.Id] = id;
                Log.Info("notify", $"request {request.Id} of {request.Vm}: notification {id}");
                break;
            case Event.KindOneofCase.RequestClosed:
                if (_byRequest.Remove(e.RequestClosed.RequestId, out var notification))
                {
                    _byNotification.Remove(notification);
                    TryClose(notification);
                }

                break;
            case Event.KindOneofCase.RealFrames:
                // The time makes each one distinct, so servers that merge identical notifications show every change.
                var frames = e.RealFrames;
                var since = CtlText.LocalTime(e.TimeUnixMs, "HH:mm:ss.fff");
                desktop.Notify(
                    frames.Receiving ? $"{e.Vm} is using the camera" : $"{e.Vm} stopped using the camera",
                    frames.Receiving
                        ? $"{e.Vm} receives real frames from camera {frames.Camera} since {since}."
                        : $"{e.Vm} no longer receives real frames from camera {frames.Camera} since {since}.",
                    [], urgency: 1, expireMs: -1);
                break;
        }
    }

    private void OnSignal(NotificationSignal signal)
    {
        if (signal.Action is null)
        {
            // Closed (expired, dismissed, or by us): the request stays open for other front ends and the timeout.
            if (_byNotification.Remove(signal.Id, out var dismissed))
            {
                _byRequest.Remove(dismissed.Id);
            }

            return;
        }

        if (!_byNotification.Remove(signal.Id, out var request))
        {
            return;
        }

        _byRequest.Remove(request.Id);
        Answer? answer = signal.Action switch
        {
            "allow-once" => Answer.AllowOnce,
            "allow-always" => Answer.AllowAlways,
            "deny-once" => Answer.DenyOnce,
            _ => null,
        };
        if (answer is not { } chosen)
        {
            Log.Warning("notify", $"notification {signal.Id}: unknown action '{signal.Action}'");
            return;
        }

        try
        {
            var answered = CtlCommand.Answer(answers, request.Vm, request.Id, chosen);
            Log.Info("notify", CtlText.AnswerResult(answered));
        }
        catch (CtlFailure e)
        {
            Log.Warning("notify", $"request {request.Id} of {request.Vm} not answered: {e.Message}");
        }

        TryClose(signal.Id);
    }

    private void TryClose(uint id)
    {
        try
        {
            desktop.Close(id);
        }
        catch (NotificationServerException e)
        {
            Log.Debug("notify", $"closing notification {id}: {e.Message}");
        }
    }
}
