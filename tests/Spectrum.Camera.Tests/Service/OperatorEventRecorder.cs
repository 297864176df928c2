using System.Diagnostics;
using Spectrum.Camera.Cli.Ctl;
using Spectrum.Camera.Protocol.Operator;

namespace Spectrum.Camera.Tests.Service;

/// <summary>An operator connection that watches the service and records every event, on a thread of its own.</summary>
internal sealed class OperatorEventRecorder : IDisposable
{
    private readonly OperatorClient _client;
    private readonly List<Event> _events = [];
    private readonly Thread _thread;
    private volatile bool _stop;

    public OperatorEventRecorder(string socket)
    {
        _client = OperatorClient.Connect(socket);
        var id = _client.Send(new OperatorRequest { Watch = new Watch() });
        _thread = new Thread(() =>
        {
            try
            {
                while (!_stop)
                {
                    if (_client.TryReceive(id, 50) is { } response)
                    {
                        lock (_events)
                        {
                            _events.Add(response.Event);
                        }
                    }
                }
            }
            catch (CtlFailure)
            {
                // The service went away: the test sees the events so far.
            }
        })
        { IsBackground = true, Name = "operator-events" };
        _thread.Start();
    }

    public IReadOnlyList<Event> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Waits (up to 10 s) for an event matching <paramref name="match"/>.</summary>
    public Event WaitFor(Func<Event, bool> match, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (Events.FirstOrDefault(match) is { } e)
            {
                return e;
            }

            Thread.Sleep(5);
        }

        throw new TimeoutException($"no {what} event within 10 s; got: {string.Join(", ", Events.Select(e => e.KindCase))}");
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(5));
        _client.Dispose();
    }
}
