using Spectrum.Camera.Native;

namespace Spectrum.Camera.Threading;

/// <summary>
/// An epoll loop on one thread that owns everything registered with it: in the sidecar the vhost-user socket, the kick
/// fds, the device's timers and all device state; in the camera service its sockets, feeds and timers. Everything runs
/// as a callback on this thread, so the code it drives needs no locks. Other threads talk to it only through
/// <see cref="Post"/> (a wake-up eventfd plus a locked hand-off list) or <see cref="RequestStop"/>.
/// </summary>
public sealed class EventLoop : IDisposable
{
    private readonly Epoll _epoll = Epoll.Create();
    private readonly EventFd _wake = EventFd.Create();
    private readonly Dictionary<ulong, Action> _handlers = [];
    private readonly Dictionary<int, ulong> _tokensByFd = [];
    private readonly Queue<Action> _posted = new();
    private readonly Lock _postedGate = new();
    private ulong _nextToken = 1;
    private volatile bool _stopRequested;

    public EventLoop()
    {
        _epoll.Add(_wake.Fd, 0);
    }

    /// <summary>Calls <paramref name="onReadable"/> on the loop whenever <paramref name="fd"/> is readable.</summary>
    public void Watch(int fd, Action onReadable)
    {
        ArgumentNullException.ThrowIfNull(onReadable);
        if (_tokensByFd.ContainsKey(fd))
        {
            throw new InvalidOperationException($"fd {fd} is already watched");
        }

        var token = _nextToken++;
        _epoll.Add(fd, token);
        _handlers[token] = onReadable;
        _tokensByFd[fd] = token;
    }

    /// <summary>Stops watching <paramref name="fd"/> (must happen before the fd is closed).</summary>
    public void Unwatch(int fd)
    {
        if (_tokensByFd.Remove(fd, out var token))
        {
            _handlers.Remove(token);
            _epoll.Remove(fd);
        }
    }

    /// <summary>Runs <paramref name="action"/> on the loop thread soon. Safe from any thread.</summary>
    public void Post(Action action)
    {
        lock (_postedGate)
        {
            _posted.Enqueue(action);
        }

        _wake.Signal();
    }

    /// <summary>Asks <see cref="Run"/> to return. Safe from any thread and from signal handlers.</summary>
    public void RequestStop()
    {
        _stopRequested = true;
        _wake.Signal();
    }

    /// <summary>Dispatches events until <see cref="RequestStop"/>.</summary>
    public void Run()
    {
        Span<ulong> ready = stackalloc ulong[64];
        while (!_stopRequested)
        {
            var n = _epoll.Wait(ready, -1);
            for (var i = 0; i < n && !_stopRequested; i++)
            {
                if (ready[i] == 0)
                {
                    _wake.Consume();
                    RunPosted();
                }
                else if (_handlers.TryGetValue(ready[i], out var handler))
                {
                    // A handler may unwatch fds whose events are later in this batch; the lookup skips them.
                    handler();
                }
            }
        }
    }

    public void Dispose()
    {
        _epoll.Dispose();
        _wake.Dispose();
    }

    private void RunPosted()
    {
        while (true)
        {
            Action? next;
            lock (_postedGate)
            {
                if (!_posted.TryDequeue(out next))
                {
                    return;
                }
            }

            next();
        }
    }
}
