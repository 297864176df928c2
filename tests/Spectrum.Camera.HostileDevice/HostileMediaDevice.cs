using System.Buffers.Binary;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.VhostUser;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.HostileDevice;

/// <summary>
/// The real <see cref="VirtioMediaDevice"/> behind a wrapper that corrupts what it sends. The inner device does all the
/// work (sessions, formats, buffers, frames) through its own transport; this class hands that transport a
/// <see cref="HostileQueue"/> over each real queue, so it sees every completion before it reaches the used ring, and
/// rewrites the answer in guest memory, changes the used length, holds the chain, or injects extra events, according
/// to the active <see cref="Fault"/>. Nothing in the shipped assemblies knows about it.
///
/// The guest selects the fault in-band: VIDIOC_S_INPUT with <see cref="ControlMagic"/> + the fault's number
/// (<c>v4l2-ctl --set-input=0x484f5300</c> for none). That answer is always correct (it echoes the input), and the
/// selecting session is exempt from faults until it closes, so the guest knows exactly when a fault starts. A device
/// reset (driver reload, reboot) goes back to <see cref="Fault.None"/>; a config-space fault lasts until then, so the
/// next probe reads it.
/// </summary>
internal sealed class HostileMediaDevice : IVirtioDevice, IDisposable
{
    /// <summary>"HOS\0": S_INPUT values 0x484F5300 + n select fault n.</summary>
    public const uint ControlMagic = 0x484F5300;

    private const string Component = "hostile";

    // Wire sizes of what the device answers and sends (the Uapi structures).
    private static readonly int RespHeader = WireStruct.SizeOf<VirtioMediaResponseHeader>();
    private static readonly int RespOpenSize = WireStruct.SizeOf<VirtioMediaOpenResponse>();
    private static readonly int CmdHeaderSize = WireStruct.SizeOf<VirtioMediaCommandHeader>();
    private static readonly uint EventDqbufSize = (uint)WireStruct.SizeOf<VirtioMediaDqbufEvent>();
    private static readonly uint EventErrorSize = (uint)WireStruct.SizeOf<VirtioMediaErrorEvent>();
    private static readonly int FmtDescSize = WireStruct.SizeOf<V4l2FmtDesc>(), FormatSize = WireStruct.SizeOf<V4l2Format>();
    private static readonly int FrmSizeEnumSize = WireStruct.SizeOf<V4l2FrmSizeEnum>(), FrmIvalEnumSize = WireStruct.SizeOf<V4l2FrmIvalEnum>();
    private static readonly int StreamParmSize = WireStruct.SizeOf<V4l2StreamParm>(), InputSize = WireStruct.SizeOf<V4l2Input>();
    private static readonly int RequestBuffersSize = WireStruct.SizeOf<V4l2RequestBuffers>();
    private static readonly int CreateBuffersSize = WireStruct.SizeOf<V4l2CreateBuffers>(), BufferSize = WireStruct.SizeOf<V4l2Buffer>();

    // Payload offsets inside the V4L2 structures the answers carry (64-bit layout).
    private const int FmtWidth = 8, FmtHeight = 12, FmtPixelFormat = 16, FmtField = 20, FmtBytesPerLine = 24;
    private const int FmtSizeImage = 28, FmtColorspace = 32, FmtQuantization = 48;
    private const int BufIndex = 0, BufType = 4, BufBytesUsed = 8, BufFlags = 12, BufField = 16, BufSec = 24, BufUsec = 32;
    private const int BufMemory = 60, BufLength = 72;

    private readonly VirtioMediaDevice _inner;
    private readonly byte[] _config = new byte[WireStruct.SizeOf<VirtioMediaConfig>()];
    private readonly byte[] _request = new byte[64];
    private readonly byte[] _answer = new byte[RespHeader + CreateBuffersSize];
    private readonly byte[] _event = new byte[EventDqbufSize];
    private readonly byte[] _lastDqbuf = new byte[EventDqbufSize];
    private readonly byte[] _inject = new byte[EventDqbufSize];
    private readonly GuestRangeWriter _writer = new();
    private readonly HashSet<uint> _openSessions = [];
    private readonly HashSet<string> _heldOnce = [];
    private readonly List<(DescriptorChain Chain, uint Written, long Due, IVirtqueue Queue)> _late = [];
    private readonly Random _random;
    private TimerFd? _timer;
    private IVirtqueue? _commandq;
    private IVirtqueue? _eventq;
    private int _streams;
    private Fault _fault;
    private uint? _controlSession;
    private int _step;
    private int _frame;
    private bool _haveLastDqbuf;
    private long _corrupted;
    private long _injected;
    private long _held;

    public HostileMediaDevice(VirtioMediaDevice inner, Fault initial, int seed)
    {
        _inner = inner;
        _fault = initial;
        _random = new Random(seed);
    }

    public ulong DeviceFeatures => _inner.DeviceFeatures;

    public int QueueCount => _inner.QueueCount;

    public ReadOnlySpan<byte> ConfigSpace
    {
        get
        {
            _inner.ConfigSpace.CopyTo(_config);
            if (_fault == Fault.ConfigCard)
            {
                // Capture-only still, plus bits a capture device may not claim here (READWRITE, META_CAPTURE, TOUCH,
                // DEVICE_CAPS); a card name that fills all 32 bytes, with no NUL, control bytes and format specifiers.
                Put(_config, 0, Get(_config, 0) | 0x01000000 | 0x00800000 | 0x10000000 | 0x80000000);
                var card = "\u0001\u001b[31m%s%n%p\n\t\u007f"u8.ToArray();
                for (var i = 0; i < VirtioMediaWire.CardCapacity; i++)
                {
                    _config[8 + i] = i < card.Length ? card[i] : (byte)(0x80 + i);
                }
            }
            else if (_fault == Fault.ConfigCaps)
            {
                Put(_config, 0, V4l2.CapVideoCapture | V4l2.CapStreaming | 0x00000002 /* OUTPUT */ | 0x00008000 /* M2M */);
                Put(_config, 4, 3);
            }

            return _config;
        }
    }

    public void Attach(EventLoop deviceLoop)
    {
        ArgumentNullException.ThrowIfNull(deviceLoop);
        _inner.Attach(deviceLoop);
        _timer = TimerFd.Create();
        _timer.SetPeriodic(250_000_000);
        deviceLoop.Watch(_timer.Fd, SendLateAnswers);
    }

    public void Reset()
    {
        _inner.Reset();
        if (_fault != Fault.None)
        {
            Log.Info(Component, $"device reset: fault {_fault.Name()} ends ({Summary()})");
        }

        _fault = Fault.None;
        _controlSession = null;
        _openSessions.Clear();
        _heldOnce.Clear();
        _late.Clear();
        _haveLastDqbuf = false;
        _corrupted = _injected = _held = 0;
    }

    public void QueueStarted(int index, IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (index == VirtioMediaDevice.CommandQueue)
        {
            _commandq = queue;
        }
        else
        {
            _eventq = queue;
        }

        _inner.QueueStarted(index, new HostileQueue(queue, this));
    }

    // Chains held back stay in flight on the stopped ring; the driver's reset returns them (detach_unused_buf). A late
    // answer is sent only on the ring it came from, while that ring still runs.
    public void QueueStopped(int index)
    {
        if (index == VirtioMediaDevice.CommandQueue)
        {
            _commandq = null;
        }
        else
        {
            _eventq = null;
        }

        _inner.QueueStopped(index);
    }

    public void QueueNotified(int index) => _inner.QueueNotified(index);

    public void Dispose()
    {
        _timer?.Dispose();
        _inner.Dispose();
    }

    public string Summary() => $"{_corrupted} answers/events corrupted, {_injected} events injected, {_held} commands held";

    /// <summary>
    /// Sees a completion of the inner device on <paramref name="queue"/> (the real one). Returns true to publish the chain
    /// with <paramref name="written"/> bytes, false when this class took the chain over (holds it, or completed it itself).
    /// </summary>
    public bool BeforeComplete(IVirtqueue queue, DescriptorChain chain, ref uint written)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(chain);
        return queue.Index == VirtioMediaDevice.CommandQueue
            ? OnCommand(queue, chain, ref written)
            : OnEvent(queue, chain, ref written);
    }

    // ---- commands ---------------------------------------------------------------------------------------------------

    private bool OnCommand(IVirtqueue queue, DescriptorChain chain, ref uint written)
    {
        var memory = queue.Memory;
        var n = chain.CopyReadable(memory, _request);
        if (n < CmdHeaderSize)
        {
            return true;
        }

        var command = Get(_request, 0);
        var session = n >= 12 ? Get(_request, 8) : 0;
        var code = n >= 16 ? (V4l2IoctlNumber)Get(_request, 12) : (V4l2IoctlNumber)uint.MaxValue;
        var answered = Math.Min(written, (uint)_answer.Length);
        WritablePart.Read(memory, chain, _answer.AsSpan(0, (int)answered));
        var ok = written >= RespHeader && Get(_answer, 0) == 0;

        if (command == VirtioMediaWire.CmdIoctl && code == V4l2IoctlNumber.SInput && n >= 20 &&
            (Get(_request, 16) & 0xFFFFFF00) == ControlMagic)
        {
            return Select(queue, chain, session, Get(_request, 16), ref written);
        }

        if (command == VirtioMediaWire.CmdOpen && ok && written >= RespOpenSize)
        {
            _openSessions.Add(Get(_answer, RespHeader));
        }

        if (command == VirtioMediaWire.CmdClose)
        {
            _openSessions.Remove(session);
            if (session == _controlSession)
            {
                _controlSession = null;
                return true;
            }
        }

        if (_fault == Fault.None || _fault.IsConfig() || (command != VirtioMediaWire.CmdOpen && session == _controlSession))
        {
            return true;
        }

        if (command == VirtioMediaWire.CmdIoctl && code == V4l2IoctlNumber.StreamOn)
        {
            _frame = 0;
            _haveLastDqbuf = false;
            if (_fault == Fault.ErrorEvent && ok && _streams++ == 0 && _eventq is { } eventq)
            {
                // The driver is inside start_streaming, waiting for this answer: the session dies first.
                InjectError(eventq, session, 5, EventErrorSize);
                eventq.NotifyIfNeeded();
                Log.Info(Component, $"EVT_ERROR for session {session} before its STREAMON answer");
            }
        }

        switch (_fault)
        {
            case Fault.ShortAnswer when command == VirtioMediaWire.CmdIoctl && ok && written > RespHeader:
                written = (_step++ % 4) switch { 0 => written - 1, 1 => (uint)RespHeader, 2 => 4, _ => 0 };
                return Corrupted();
            case Fault.OversizedAnswer when command == VirtioMediaWire.CmdIoctl:
                var big = (_step++ % 3) switch { 0 => chain.WritableLength + 1, 1 => chain.WritableLength + 4096, _ => uint.MaxValue };
                _corrupted++;
                queue.Complete(chain, big);
                return false;
            case Fault.BadStatus when command == VirtioMediaWire.CmdIoctl && written >= RespHeader:
                Put(_answer, 0, (_step++ % 6) switch { 0 => 512u, 1 => 515u, 2 => 4095u, 3 => 4096u, 4 => 0x80000000u, _ => uint.MaxValue });
                WriteWritable(memory, chain, _answer.AsSpan(0, (int)answered));
                return Corrupted();
            case Fault.GarbageFormat when command == VirtioMediaWire.CmdIoctl && ok && IsFormat(code) &&
                                          answered >= RespHeader + FormatSize:
                CorruptFormat(_answer.AsSpan(RespHeader, FormatSize));
                WriteWritable(memory, chain, _answer.AsSpan(0, (int)answered));
                return Corrupted();
            case Fault.GarbageAnswers when command == VirtioMediaWire.CmdIoctl && ok && answered > RespHeader:
                CorruptAnswer(code, _answer.AsSpan(RespHeader, (int)answered - RespHeader));
                WriteWritable(memory, chain, _answer.AsSpan(0, (int)answered));
                return Corrupted();
            case Fault.BadSession when command == VirtioMediaWire.CmdOpen && ok:
                return CorruptOpen(queue, chain, ref written);
            case Fault.BadSession when command == VirtioMediaWire.CmdClose:
                _corrupted++;
                queue.Complete(chain, (uint)RespHeader);
                return false;
            case Fault.NoAnswer or Fault.LateAnswer:
                var what = command switch
                {
                    VirtioMediaWire.CmdClose => "CLOSE",
                    VirtioMediaWire.CmdIoctl when code is V4l2IoctlNumber.GFmt or V4l2IoctlNumber.QBuf or V4l2IoctlNumber.StreamOff => code.ToString(),
                    _ => null,
                };
                if (what is not null && _heldOnce.Add(what))
                {
                    _held++;
                    if (_fault == Fault.LateAnswer)
                    {
                        _late.Add((chain, written, Environment.TickCount64 + 6000, queue));
                        Log.Info(Component, $"{what} of session {session} is answered in 6 s");
                    }
                    else
                    {
                        Log.Info(Component, $"{what} of session {session} is never answered");
                    }

                    return false;
                }

                return true;
            default:
                return true;
        }
    }

    private void SendLateAnswers()
    {
        _timer!.ConsumeExpirations();
        var now = Environment.TickCount64;
        var sent = false;
        for (var i = 0; i < _late.Count; i++)
        {
            var (chain, written, due, queue) = _late[i];
            if (due > now)
            {
                continue;
            }

            _late.RemoveAt(i--);
            if (queue != _commandq || queue.IsBroken)
            {
                continue; // the driver reset the device meanwhile: the chain is gone
            }

            queue.Complete(chain, written);
            queue.NotifyIfNeeded();
            sent = true;
        }

        if (sent)
        {
            Log.Info(Component, "late answers sent");
        }
    }

    private bool Select(IVirtqueue queue, DescriptorChain chain, uint session, uint value, ref uint written)
    {
        var id = (int)(value & 0xFF);
        if (!Enum.IsDefined((Fault)id))
        {
            Log.Warning(Component, $"session {session} asked for fault {id}, which does not exist");
            return true;
        }

        if (_fault != (Fault)id)
        {
            Log.Info(Component, $"fault {_fault.Name()} ends ({Summary()}); session {session} selects {((Fault)id).Name()}");
        }

        _fault = (Fault)id;
        _controlSession = session;
        _step = 0;
        _streams = 0;
        _heldOnce.Clear();
        _corrupted = _injected = _held = 0;
        if (chain.WritableLength >= RespHeader + 4)
        {
            Put(_answer, 0, 0);
            Put(_answer, 4, 0);
            Put(_answer, RespHeader, value);
            WriteWritable(queue.Memory, chain, _answer.AsSpan(0, RespHeader + 4));
            written = (uint)RespHeader + 4;
        }

        return true;
    }

    private bool CorruptOpen(IVirtqueue queue, DescriptorChain chain, ref uint written)
    {
        switch (_step++ % 5)
        {
            case 0:
                written = 12;
                break;
            case 1:
                Put(_answer, 0, 512);
                WriteWritable(queue.Memory, chain, _answer.AsSpan(0, (int)written));
                break;
            case 2:
                _corrupted++;
                queue.Complete(chain, 4096);
                return false;
            case 3:
                // The id of a session that is still open (the guest keeps one open for this).
                var mine = Get(_answer, RespHeader);
                uint? other = null;
                foreach (var open in _openSessions)
                {
                    if (open != mine)
                    {
                        other = open;
                        break;
                    }
                }

                if (other is null)
                {
                    return true;
                }

                Put(_answer, RespHeader, other.Value);
                WriteWritable(queue.Memory, chain, _answer.AsSpan(0, (int)written));
                break;
            default:
                return true;
        }

        return Corrupted();
    }

    private static bool IsFormat(V4l2IoctlNumber code) =>
        code is V4l2IoctlNumber.GFmt or V4l2IoctlNumber.SFmt or V4l2IoctlNumber.TryFmt;

    private void CorruptFormat(Span<byte> f)
    {
        switch (_step++ % 12)
        {
            case 0: Put(f, FmtSizeImage, uint.MaxValue); break;
            case 1: Put(f, FmtSizeImage, Get(f, FmtSizeImage) + 1); break;
            case 2: Put(f, FmtWidth, 0); break;
            case 3: Put(f, FmtWidth, 100_000); Put(f, FmtBytesPerLine, 200_000); break;
            case 4: Put(f, FmtHeight, uint.MaxValue); break;
            case 5: Put(f, FmtPixelFormat, 0x47504A4D); break; // MJPG
            case 6: Put(f, 0, 2); break; // type VIDEO_OUTPUT
            case 7: Put(f, FmtField, 4); break; // INTERLACED
            case 8: Put(f, FmtBytesPerLine, 1); break;
            case 9: Put(f, FmtColorspace, 1000); break;
            case 10: Put(f, FmtQuantization, 99); break;
            default: _random.NextBytes(f); break;
        }
    }

    private void CorruptAnswer(V4l2IoctlNumber code, Span<byte> p)
    {
        var k = _step++;
        if (k % 4 == 3)
        {
            _random.NextBytes(p);
            return;
        }

        switch (code)
        {
            case V4l2IoctlNumber.EnumFmt when p.Length >= FmtDescSize:
                Put(p, (k % 3) switch { 0 => 0, 1 => 44, _ => 4 }, (k % 3) switch { 0 => Get(p, 0) + 1, 1 => 0x50424752u, _ => 9u });
                break;
            case V4l2IoctlNumber.GFmt or V4l2IoctlNumber.SFmt or V4l2IoctlNumber.TryFmt when p.Length >= FormatSize:
                CorruptFormat(p);
                break;
            case V4l2IoctlNumber.EnumFrameSizes when p.Length >= FrmSizeEnumSize:
                if (k % 3 == 0)
                {
                    Put(p, 8, 3); // STEPWISE with min > max and step 0
                    Put(p, 12, 640);
                    Put(p, 16, 320);
                    Put(p, 20, 0);
                }
                else
                {
                    Put(p, 8, k % 3 == 1 ? 1u : 7u);
                    Put(p, 12, 9000);
                }

                break;
            case V4l2IoctlNumber.EnumFrameIntervals when p.Length >= FrmIvalEnumSize:
                if (k % 3 == 0)
                {
                    Put(p, 20, 0);
                    Put(p, 24, 0);
                }
                else
                {
                    Put(p, k % 3 == 1 ? 8 : 16, k % 3 == 1 ? Get(p, 8) + 2 : 9u);
                }

                break;
            case V4l2IoctlNumber.GParm or V4l2IoctlNumber.SParm when p.Length >= StreamParmSize:
                if (k % 2 == 0)
                {
                    Put(p, 4, V4l2.CapTimePerFrame);
                    Put(p, 12, 0);
                    Put(p, 16, 0);
                }
                else
                {
                    Put(p, 0, 2);
                }

                break;
            case V4l2IoctlNumber.EnumInput when p.Length >= InputSize:
                if (k % 3 == 0)
                {
                    Put(p, 36, 1); // TUNER
                }
                else if (k % 3 == 1)
                {
                    Put(p, 0, Get(p, 0) + 1);
                }
                else
                {
                    p.Slice(4, 32).Fill((byte)'X'); // a name with no NUL
                    Put(p, 40, uint.MaxValue);
                    Put(p, 56, uint.MaxValue);
                }

                break;
            case V4l2IoctlNumber.GInput when p.Length >= 4:
                Put(p, 0, k % 2 == 0 ? 1000u : uint.MaxValue);
                break;
            case V4l2IoctlNumber.SInput when p.Length >= 4:
                Put(p, 0, Get(p, 0) + 1);
                break;
            case V4l2IoctlNumber.ReqBufs when p.Length >= RequestBuffersSize:
                Put(p, (k % 3) switch { 0 => 0, 1 => 8, _ => 4 }, (k % 3) switch { 0 => 33u + (uint)k, 1 => V4l2.MemoryMmap, _ => 9u });
                break;
            case V4l2IoctlNumber.CreateBufs when p.Length >= CreateBuffersSize:
                Put(p, (k % 3) switch { 0 => 0, 1 => 4, _ => 8 }, (k % 3) switch { 0 => Get(p, 0) + 3, 1 => uint.MaxValue, _ => V4l2.MemoryMmap });
                break;
            case V4l2IoctlNumber.QBuf when p.Length >= BufferSize:
                Put(p, (k % 3) switch { 0 => BufIndex, 1 => BufIndex, _ => BufMemory }, (k % 3) switch { 0 => Get(p, BufIndex) + 1, 1 => uint.MaxValue, _ => V4l2.MemoryMmap });
                break;
            default:
                _random.NextBytes(p);
                break;
        }
    }

    // ---- events -----------------------------------------------------------------------------------------------------

    private bool OnEvent(IVirtqueue queue, DescriptorChain chain, ref uint written)
    {
        if (_fault is not (Fault.HugeBytesused or Fault.BadIndex or Fault.BadEvents or Fault.ErrorEvent) ||
            written != EventDqbufSize)
        {
            return true;
        }

        var memory = queue.Memory;
        WritablePart.Read(memory, chain, _event);
        if (Get(_event, 0) != VirtioMediaWire.EventDqbuf)
        {
            return true;
        }

        var session = Get(_event, 4);
        var buffer = _event.AsSpan(8, BufferSize);
        var frame = _frame++;
        var changed = false;
        switch (_fault)
        {
            case Fault.HugeBytesused when frame % 2 == 1:
                Put(buffer, BufBytesUsed, (frame / 2 % 3) switch { 0 => 0xFFFFFFF0u, 1 => Get(buffer, BufLength) + 1, _ => uint.MaxValue });
                changed = true;
                break;
            case Fault.BadIndex:
                _event.CopyTo(_inject, 0);
                Put(_inject, 8 + BufIndex, (frame % 4) switch { 0 => 32u, 1 => 1000u, 2 => uint.MaxValue, _ => 31u });
                Inject(queue, _inject, EventDqbufSize);
                if (frame is 3 or 6)
                {
                    Put(buffer, BufIndex, 32 + (uint)frame);
                    changed = true;
                }

                break;
            case Fault.BadEvents:
                InjectMalformed(queue, session, frame);
                if (frame % 3 == 2)
                {
                    switch (frame / 3 % 6)
                    {
                        case 0: Put(buffer, BufField, 4); break;
                        case 1: Put(buffer, BufFlags, Get(buffer, BufFlags) & ~V4l2.BufFlagTimestampMonotonic); break;
                        case 2: BinaryPrimitives.WriteUInt64LittleEndian(buffer[BufUsec..], 2_000_000); break;
                        case 3: BinaryPrimitives.WriteInt64LittleEndian(buffer[BufSec..], -5); break;
                        case 4: Put(buffer, BufBytesUsed, 0); break;
                        default: Put(buffer, BufFlags, Get(buffer, BufFlags) | V4l2.BufFlagError); break;
                    }

                    changed = true;
                }

                _event.CopyTo(_lastDqbuf, 0);
                _haveLastDqbuf = true;
                break;
            case Fault.ErrorEvent when frame == 10 && _streams > 1:
                InjectError(queue, session, 5, EventErrorSize);
                InjectError(queue, session, 0, EventErrorSize);
                InjectError(queue, session, 70_000, EventErrorSize);
                Log.Info(Component, $"EVT_ERROR for session {session} at frame {frame}");
                break;
        }

        if (changed)
        {
            WriteWritable(memory, chain, _event);
            _corrupted++;
        }

        return true;
    }

    private void InjectMalformed(IVirtqueue queue, uint session, int frame)
    {
        Array.Clear(_inject);
        switch (frame % 12)
        {
            case 0:
                _event.CopyTo(_inject, 0);
                Put(_inject, 0, 7); // unknown type, full size
                Inject(queue, _inject, EventDqbufSize);
                break;
            case 1:
                Put(_inject, 0, uint.MaxValue);
                Put(_inject, 4, session);
                Inject(queue, _inject, 16);
                break;
            case 2:
                Put(_inject, 0, VirtioMediaWire.EventV4l2);
                Put(_inject, 4, session);
                Inject(queue, _inject, 8 + 136);
                break;
            case 3:
                Put(_inject, 0, VirtioMediaWire.EventDqbuf);
                Inject(queue, _inject, 4); // shorter than the header
                break;
            case 4:
                Inject(queue, _inject, 0);
                break;
            case 5:
                _event.CopyTo(_inject, 0);
                Inject(queue, _inject, 100); // EVT_DQBUF cut short
                break;
            case 6:
                _event.CopyTo(_inject, 0);
                Inject(queue, _inject, 4096); // beyond the buffer
                break;
            case 7:
                _event.CopyTo(_inject, 0);
                Put(_inject, 4, 0xDEAD); // no such session
                Inject(queue, _inject, EventDqbufSize);
                break;
            case 8:
                if (_haveLastDqbuf)
                {
                    Inject(queue, _lastDqbuf, EventDqbufSize); // stale duplicate
                }

                break;
            case 9:
                InjectError(queue, 0xBEEF, 5, EventErrorSize); // unknown session
                break;
            case 10:
                _event.CopyTo(_inject, 0);
                Put(_inject, 8 + BufType, 2);
                Put(_inject, 8 + BufMemory, V4l2.MemoryMmap);
                Inject(queue, _inject, EventDqbufSize);
                break;
            default:
                InjectError(queue, session, 5, 8); // EVT_ERROR without its errno
                break;
        }
    }

    private void InjectError(IVirtqueue queue, uint session, uint errno, uint length)
    {
        Array.Clear(_inject);
        Put(_inject, 0, VirtioMediaWire.EventError);
        Put(_inject, 4, session);
        Put(_inject, 8, errno);
        Inject(queue, _inject, length);
    }

    /// <summary>Sends an extra event in the next buffer the driver posted, with <paramref name="used"/> as its length.</summary>
    private void Inject(IVirtqueue queue, ReadOnlySpan<byte> bytes, uint used)
    {
        if (queue.TryPop(out var chain) != QueuePopResult.Chain)
        {
            return; // no spare buffer: skip this one
        }

        chain!.OpenWritable(queue.Memory, _writer);
        _writer.Write(bytes[..(int)Math.Min((uint)bytes.Length, Math.Min(used, chain.WritableLength))]);
        queue.Complete(chain, used);
        _injected++;
    }

    // ---- guest memory -------------------------------------------------------------------------------------------------

    private bool Corrupted()
    {
        _corrupted++;
        return true;
    }

    private void WriteWritable(GuestMemory memory, DescriptorChain chain, ReadOnlySpan<byte> bytes)
    {
        chain.OpenWritable(memory, _writer);
        _writer.Write(bytes[..(int)Math.Min((uint)bytes.Length, chain.WritableLength)]);
    }

    private static uint Get(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]);

    private static void Put(Span<byte> s, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(s[offset..], value);
}
