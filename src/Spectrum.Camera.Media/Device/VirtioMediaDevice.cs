using System.Text;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.VhostUser;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The virtio-media (id 48) capture device: two queues (commandq, eventq), a 40-byte config, and a narrow allowlist of
/// V4L2 ioctls served from the stable menu, with frames from an <see cref="IFrameSource"/> written into guest pages.
/// Commands are answered at once (never blocked on media progress); frames come from <see cref="FrameStreamer"/>.
/// </summary>
public sealed class VirtioMediaDevice : IVirtioDevice, IDisposable
{
    public const int CommandQueue = 0;
    public const int EventQueue = 1;

    /// <summary>Commands handled per loop callback before yielding to timers and other queues.</summary>
    private const int CommandBatch = 64;

    private const string Component = "virtio-media";

    private readonly byte[] _config;
    private readonly byte[] _request = new byte[CommandDispatcher.MaxRequestBytes];
    private readonly CommandResponse _response = new();
    private readonly GuestRangeWriter _responseWriter = new();
    private readonly CommandDispatcher _dispatcher;
    private readonly CaptureState _state;
    private readonly EventQueueWriter _events = new();
    private readonly FrameStreamer _streamer;
    private readonly BufferIoctls _buffers;
    private EventLoop? _loop;
    private DeviceQueue? _commandq;
    private DeviceQueue? _eventq;
    private bool _continuationPosted;

    public VirtioMediaDevice(MediaDeviceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (CardNameProblem(options.Card) is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        _config = WireStruct.ToArray(VirtioMediaConfig.Create(
            V4l2.CapVideoCapture | V4l2.CapStreaming | V4l2.CapExtPixFormat, deviceType: 0, Encoding.UTF8.GetBytes(options.Card)));

        Options = options;
        _state = new CaptureState(options.Menu, options.SessionLimit);
        _streamer = new FrameStreamer(_state, options.Source, _events, () => _eventq);
        _buffers = new BufferIoctls(_state, _streamer);
        _dispatcher = new CommandDispatcher(_state, _buffers);
    }

    public MediaDeviceOptions Options { get; }

    /// <summary>Why <paramref name="card"/> cannot be the card name the guest sees, or null when it can.</summary>
    public static string? CardNameProblem(string card)
    {
        ArgumentNullException.ThrowIfNull(card);
        var length = Encoding.UTF8.GetByteCount(card);
        return length is 0 or >= VirtioMediaWire.CardCapacity
            ? $"the card name must be 1..{VirtioMediaWire.CardCapacity - 1} bytes of UTF-8, not {length}"
            : null;
    }

    public FrameCounters Counters => _streamer.Counters;

    public int SessionCount => _state.Sessions.Count;

    public bool IsStreaming => _streamer.IsStreaming;

    public FrameFormat CurrentFormat => _state.Format;

    public ulong DeviceFeatures => 0;

    public int QueueCount => 2;

    public ReadOnlySpan<byte> ConfigSpace => _config;

    public void Attach(EventLoop deviceLoop)
    {
        _loop = deviceLoop;
        _streamer.Attach(deviceLoop);
    }

    public void Reset()
    {
        if (_state.Sessions.Count > 0)
        {
            Log.Info(Component, $"device reset: closing {_state.Sessions.Count} sessions");
        }

        _buffers.StopStreaming();
        _state.Reset();
        _events.Clear();
    }

    public void QueueStarted(int index, DeviceQueue queue)
    {
        if (index == CommandQueue)
        {
            _commandq = queue;
        }
        else
        {
            _eventq = queue;
        }

        if (_commandq is not null && _eventq is not null)
        {
            _streamer.Resume();
        }
    }

    public void QueueStopped(int index)
    {
        _streamer.Suspend();
        if (index == CommandQueue)
        {
            _commandq = null;
        }
        else
        {
            _eventq = null;
        }
    }

    public void QueueNotified(int index)
    {
        if (index == CommandQueue)
        {
            ProcessCommands();
        }
        else
        {
            _events.Flush(_eventq);
        }
    }

    public void Dispose() => _streamer.Dispose();

    private void ProcessCommands()
    {
        _continuationPosted = false;
        var q = _commandq;
        if (q is null)
        {
            return;
        }

        var handled = 0;
        do
        {
            while (handled < CommandBatch && q.TryPop(out var chain) == QueuePopResult.Chain)
            {
                q.Complete(chain!, HandleCommand(q.Memory, chain!));
                handled++;
            }

            if (handled == CommandBatch)
            {
                // Yield so that a command flood cannot starve frame timers; continue on the next loop turn.
                if (!_continuationPosted && _loop is not null)
                {
                    _continuationPosted = true;
                    _loop.Post(ProcessCommands);
                }

                break;
            }
        }
        while (q.EnableNotification());

        if (handled > 0)
        {
            q.NotifyIfNeeded();
        }
    }

    /// <summary>Answers one command chain; returns the bytes written to its writable part.</summary>
    private uint HandleCommand(GuestMemory memory, DescriptorChain chain)
    {
        // Copy once, then validate the copy: the guest may change its memory while we parse, and for WR ioctls the
        // response descriptors alias the request ones.
        var copied = chain.CopyReadable(memory, _request);
        var request = new CommandRequest(_request.AsSpan(0, Math.Max(copied, 0)), chain.ReadableLength, chain.WritableLength, memory, chain.Segments);
        _response.Begin(chain.WritableLength);
        _dispatcher.Handle(request, _response);
        if (_response.Length == 0)
        {
            return 0;
        }

        chain.OpenWritable(memory, _responseWriter);
        return _responseWriter.Write(_response.Bytes) ? (uint)_response.Length : 0;
    }
}
