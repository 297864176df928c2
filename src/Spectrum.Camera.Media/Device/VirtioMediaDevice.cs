using System.Text;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Protocol;
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

    /// <summary>Largest readable part of a command we look at: a QBUF of 64 MiB in 4 KiB pages plus its header.</summary>
    public const int MaxRequestBytes = 16 + V4l2.CreateBuffersSize + (GuestSgList.MaxEntries * VirtioMediaWire.SgEntrySize);

    /// <summary>Commands handled per loop callback before yielding to timers and other queues.</summary>
    private const int CommandBatch = 64;

    private const string Component = "virtio-media";

    private readonly byte[] _config = new byte[VirtioMediaWire.ConfigSize];
    private readonly byte[] _request = new byte[MaxRequestBytes];
    private readonly byte[] _response = new byte[VirtioMediaWire.RespHeaderSize + V4l2.CreateBuffersSize];
    private readonly GuestRangeWriter _responseWriter = new();
    private readonly Dictionary<V4l2IoctlNumber, IoctlEntry> _ioctls;
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

        var card = Encoding.UTF8.GetBytes(options.Card);

        Le.Put(_config, 0, V4l2.CapVideoCapture | V4l2.CapStreaming | V4l2.CapExtPixFormat);
        Le.Put(_config, 4, 0); // VFL_TYPE_VIDEO
        card.CopyTo(_config.AsSpan(8));

        Options = options;
        _state = new CaptureState(options.Menu, options.SessionLimit);
        _streamer = new FrameStreamer(_state, options.Source, _events, () => _eventq);
        _buffers = new BufferIoctls(_state, _streamer);
        _ioctls = new FormatIoctls(_state).Entries
            .Concat(new ParameterIoctls(_state).Entries)
            .Concat(_buffers.Entries)
            .ToDictionary(e => e.Number);
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

    /// <summary>The allowlisted ioctls (for documentation and tests).</summary>
    public IReadOnlyCollection<V4l2IoctlNumber> SupportedIoctls => _ioctls.Keys;

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
        var length = chain.CopyReadable(memory, _request);
        if (length < VirtioMediaWire.CmdHeaderSize)
        {
            return Fault(memory, chain, $"command of {chain.ReadableLength} readable bytes has no header", Errno.EINVAL);
        }

        if (chain.ReadableLength > MaxRequestBytes)
        {
            return Fault(memory, chain, $"command of {chain.ReadableLength} bytes exceeds the {MaxRequestBytes}-byte limit", Errno.EINVAL);
        }

        var request = _request.AsSpan(0, length);
        var command = Le.U32(request, 0);
        return command switch
        {
            VirtioMediaWire.CmdOpen => Open(memory, chain),
            VirtioMediaWire.CmdClose => Close(request),
            VirtioMediaWire.CmdIoctl => Ioctl(memory, chain, request),
            // No shared-memory window exists on QEMU 10.0, so no buffer can be mapped (virtio-media.md §6.3): MMAP
            // answers ENOTTY as the reference device does without a mapper, and MUNMAP has nothing to unmap.
            VirtioMediaWire.CmdMmap => Respond(memory, chain, Errno.ENOTTY, 0),
            VirtioMediaWire.CmdMunmap => Respond(memory, chain, Errno.EINVAL, 0),
            _ => Fault(memory, chain, $"unknown command {command}", Errno.ENOTTY),
        };
    }

    private uint Open(GuestMemory memory, DescriptorChain chain)
    {
        if (chain.WritableLength < VirtioMediaWire.RespOpenSize)
        {
            return Fault(memory, chain, "OPEN without room for its 16-byte response", Errno.EINVAL);
        }

        if (!_state.Sessions.TryOpen(out var session))
        {
            Log.GuestFault(Component, "session-limit", $"OPEN refused: {_state.Sessions.Limit} sessions are open");
            return Respond(memory, chain, Errno.EBUSY, 0);
        }

        Le.Put(_response, VirtioMediaWire.RespHeaderSize, session.Id);
        Le.Put(_response, VirtioMediaWire.RespHeaderSize + 4, 0);
        Log.Debug(Component, $"session {session.Id} opened ({_state.Sessions.Count} open)");
        return Respond(memory, chain, Errno.None, 8);
    }

    /// <summary>CLOSE has no response part (virtio-media.md §3.3): used length 0 whatever happens.</summary>
    private uint Close(ReadOnlySpan<byte> request)
    {
        if (request.Length < VirtioMediaWire.CmdWithSessionSize)
        {
            Log.GuestFault(Component, "bad-command", "CLOSE shorter than 16 bytes");
            return 0;
        }

        var id = Le.U32(request, 8);
        if (!_state.Sessions.Remove(id))
        {
            Log.GuestFault(Component, "unknown-session", $"CLOSE of unknown session {id}");
            return 0;
        }

        if (_state.Queue.Owner == id)
        {
            _buffers.StopStreaming();
            _state.Queue.Release();
        }

        Log.Debug(Component, $"session {id} closed ({_state.Sessions.Count} open)");
        return 0;
    }

    private uint Ioctl(GuestMemory memory, DescriptorChain chain, ReadOnlySpan<byte> request)
    {
        if (request.Length < VirtioMediaWire.CmdWithSessionSize)
        {
            return Fault(memory, chain, "IOCTL shorter than 16 bytes", Errno.EINVAL);
        }

        var sessionId = Le.U32(request, 8);
        var code = Le.U32(request, 12);
        if (!_state.Sessions.TryGet(sessionId, out var session))
        {
            return Fault(memory, chain, $"IOCTL {code} on unknown session {sessionId}", Errno.EINVAL);
        }

        if (!_ioctls.TryGetValue((V4l2IoctlNumber)code, out var entry))
        {
            // Not in the allowlist: the V4L2 answer for "no such ioctl". Not a fault: clients probe freely.
            return Respond(memory, chain, Errno.ENOTTY, 0);
        }

        var input = request[VirtioMediaWire.CmdWithSessionSize..];
        if (input.Length < entry.InputSize)
        {
            return Fault(memory, chain, $"{entry.Number} payload is {input.Length} bytes, needs {entry.InputSize}", Errno.EINVAL);
        }

        if (chain.WritableLength < VirtioMediaWire.RespHeaderSize + entry.OutputSize)
        {
            return Fault(memory, chain, $"{entry.Number} response area of {chain.WritableLength} bytes is too small", Errno.EINVAL);
        }

        var output = _response.AsSpan(VirtioMediaWire.RespHeaderSize, entry.OutputSize);
        output.Clear();
        var context = new IoctlContext { Session = session, Input = input, Output = output, Chain = chain, Memory = memory };
        var errno = entry.Handler(ref context);
        session.Ioctls++;
        return Respond(memory, chain, errno, errno == Errno.None ? entry.OutputSize : 0);
    }

    /// <summary>Logs a malformed command (rate-limited) and answers it with <paramref name="errno"/> if there is room.</summary>
    private uint Fault(GuestMemory memory, DescriptorChain chain, string message, Errno errno)
    {
        Log.GuestFault(Component, "bad-command", message);
        return Respond(memory, chain, errno, 0);
    }

    /// <summary>Writes the response header and <paramref name="payloadLength"/> bytes of payload from the response buffer.</summary>
    private uint Respond(GuestMemory memory, DescriptorChain chain, Errno errno, int payloadLength)
    {
        if (chain.WritableLength < VirtioMediaWire.RespHeaderSize + payloadLength)
        {
            return 0;
        }

        Le.Put(_response, 0, (uint)errno);
        Le.Put(_response, 4, 0);
        chain.OpenWritable(memory, _responseWriter);
        return _responseWriter.Write(_response.AsSpan(0, VirtioMediaWire.RespHeaderSize + payloadLength))
            ? (uint)(VirtioMediaWire.RespHeaderSize + payloadLength)
            : 0;
    }
}
