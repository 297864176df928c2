using System.Globalization;
using Spectrum.Camera.Protocol.Operator;
using Kind = Spectrum.Camera.Protocol.Operator.OperatorResponse.KindOneofCase;

namespace Spectrum.Camera.Cli.Ctl;

/// <summary>
/// 'spectrum-camera ctl prompt': shows the requests of VMs in ask mode one at a time, oldest first, with a countdown
/// to each one's deadline, and answers the one shown from a single key. Plain lines and one line redrawn in place
/// ("\r" and erase-to-end-of-line), so it works in any terminal and over ssh. Requests come from a Watch on one
/// connection; answers go out on another, so a reply never mixes with the event stream.
/// </summary>
internal sealed class OperatorPrompt(
    OperatorClient events, OperatorClient answers, KeyReader keys, TextWriter output, Func<long> nowUnixMs)
{
    /// <summary>How long the loop waits for the service before it looks at the keyboard and the countdown again.</summary>
    private const int PollMs = 100;

    public const string Keys = "[o] allow once  [a] allow always  [d] deny once  [n] deny always  [s] skip  [q] quit";

    private readonly SortedDictionary<ulong, CameraRequest> _open = [];
    private readonly HashSet<ulong> _skipped = [];
    private CameraRequest? _shown;
    private string _countdown = "";

    /// <summary>Runs until 'q', the end of input (exit 0) or the service going away (CtlFailure, exit 1).</summary>
    public int Run()
    {
        var watchId = events.Send(new OperatorRequest { Watch = new Watch() });
        output.WriteLine($"Answering camera requests from {events.SocketPath}. Keys: {Keys}");
        output.WriteLine("Waiting for requests...");
        output.Flush();
        while (true)
        {
            if (events.TryReceive(watchId, PollMs) is { } response)
            {
                OnEvent(OperatorClient.Expect(response, Kind.Event).Event);
            }

            while (keys.TryRead(out var key))
            {
                if (key is 'q' or 'Q')
                {
                    Finish("quit");
                    return 0;
                }

                OnKey(key);
            }

            if (keys.Ended)
            {
                Finish("end of input");
                return 0;
            }

            Show();
        }
    }

    private void OnEvent(Event e)
    {
        switch (e.KindCase)
        {
            case Event.KindOneofCase.RequestRaised:
                _open[e.RequestRaised.Id] = e.RequestRaised;
                break;
            case Event.KindOneofCase.RequestClosed:
                var closed = e.RequestClosed;
                _open.Remove(closed.RequestId);
                _skipped.Remove(closed.RequestId);
                if (_shown?.Id == closed.RequestId)
                {
                    var by = closed.Outcome is "timeout" or "withdrawn" ? "" : $" by uid {closed.Uid.ToString(CultureInfo.InvariantCulture)}";
                    Conclude($"{CtlText.OutcomeWords(closed.Outcome)}{by}");
                }

                break;
        }
    }

    private void OnKey(char key)
    {
        if (_shown is not { } request)
        {
            return;
        }

        Answer? answer = key switch
        {
            'o' or 'O' => Answer.AllowOnce,
            'a' or 'A' => Answer.AllowAlways,
            'd' or 'D' => Answer.DenyOnce,
            'n' or 'N' => Answer.DenyAlways,
            _ => null,
        };
        if (key is 's' or 'S')
        {
            _skipped.Add(request.Id);
            Conclude("skipped (left to another front end or the timeout)");
            return;
        }

        if (answer is not { } chosen)
        {
            return;
        }

        _open.Remove(request.Id);
        try
        {
            var answered = CtlCommand.Answer(answers, request.Vm, request.Id, chosen);
            Conclude(CtlText.AnswerResult(answered));
        }
        catch (CtlFailure e)
        {
            Conclude($"not answered: {e.Message}");
        }
    }

    /// <summary>Shows the oldest open request not skipped, or redraws the countdown of the one shown.</summary>
    private void Show()
    {
        var now = nowUnixMs();
        if (_shown is null)
        {
            var next = _open.Values.FirstOrDefault(r => !_skipped.Contains(r.Id));
            if (next is null)
            {
                return;
            }

            _shown = next;
            _countdown = "";
            output.WriteLine();
            output.WriteLine($"{CtlText.LocalTime(next.TimeUnixMs, "HH:mm:ss")} {CtlText.RequestLine(next)}");
        }

        var waiting = _open.Count - 1 - _open.Keys.Count(_skipped.Contains);
        var line = $"  {Keys}  {CtlText.SecondsLeft(_shown, now).ToString(CultureInfo.InvariantCulture)} s left"
            + (waiting > 0 ? $"  ({waiting.ToString(CultureInfo.InvariantCulture)} more waiting)" : "");
        if (line != _countdown)
        {
            _countdown = line;
            output.Write($"\r{line}\u001b[K");
            output.Flush();
        }
    }

    /// <summary>Ends the request shown with what became of it.</summary>
    private void Conclude(string result)
    {
        output.Write($"\r\u001b[K  -> {result}\n");
        output.Flush();
        _shown = null;
        _countdown = "";
    }

    private void Finish(string why)
    {
        if (_shown is not null)
        {
            output.Write("\r\u001b[K");
        }

        output.WriteLine($"Stopped ({why}); open requests stay open.");
        output.Flush();
    }
}
