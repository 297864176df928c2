using System.Diagnostics;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Producer;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Core;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// A camera VM's producer sidecar played by the test: a real SOCK_SEQPACKET connection to the service's producer
/// socket, protobuf messages through a real <see cref="MessageChannel{TIn,TOut}"/>, and the ring the service sends
/// mapped read-write from its memfd and written with the seqlock protocol (<see cref="FrameRingWriter.Attach"/>).
/// After <see cref="StartPump"/> a thread records what the service sends (answering each Demand with DemandAck, as a
/// well-behaved producer does). <see cref="RunAgent"/> plays the camera VM's agent too: it streams whenever frames are
/// wanted and stops when they are not. Every wait is bounded (<see cref="TestWait.Bound"/>).
/// </summary>
internal sealed unsafe class ScriptedProducer : IDisposable
{
    private readonly MessageChannel<ServiceToProducer, ProducerMessage> _channel;
    private readonly List<ServiceToProducer> _received = [];
    private readonly List<FdHandle> _ringFds = [];
    private readonly Lock _sendLock = new();
    private MessagePump<ServiceToProducer, ProducerMessage>? _pump;
    private Thread? _agent;
    private volatile bool _stop;
    private volatile bool _agentPaused;
    private MappedMemory? _raw;
    private ulong _sequence;
    private long _agentFrames;
    private long _agentLastFrame;

    private ScriptedProducer(UnixSocket socket) =>
        _channel = new MessageChannel<ServiceToProducer, ProducerMessage>(socket, 4096);

    /// <summary>The ring of the current stream (null before the first ProducerRing).</summary>
    public FrameRingWriter? Ring { get; private set; }

    /// <summary>The ProducerRing of the current stream.</summary>
    public ProducerRing? RingMessage { get; private set; }

    /// <summary>The format of the current stream.</summary>
    public FrameFormat Format { get; private set; }

    /// <summary>Frames the agent announced.</summary>
    public long AgentFrames => Interlocked.Read(ref _agentFrames);

    /// <summary>When the agent last announced a frame (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public long AgentLastFrameTimestamp => Interlocked.Read(ref _agentLastFrame);

    /// <summary>Why the agent thread ended, when it did other than by <see cref="Dispose"/> or the connection closing.</summary>
    public Exception? AgentFailure { get; private set; }

    /// <summary>The service closed the connection (seen by the pump).</summary>
    public bool IsClosed => _pump?.IsClosed ?? false;

    public static ScriptedProducer Connect(string path) => new(UnixSocket.Connect(path, UnixSocketKind.SeqPacket));

    /// <summary>Connects, says Hello for <paramref name="vm"/>, checks the Welcome and starts the pump.</summary>
    public static ScriptedProducer Welcomed(string path, string vm)
    {
        var producer = Connect(path);
        var welcome = producer.Hello(vm);
        Assert.That(welcome.KindCase, Is.EqualTo(ServiceToProducer.KindOneofCase.Welcome), welcome.ToString());
        Assert.That(welcome.Welcome.Vm, Is.EqualTo(vm));
        producer.StartPump();
        return producer;
    }

    /// <summary>Sends ProducerHello and returns the service's first answer (Welcome or Refused).</summary>
    public ServiceToProducer Hello(string vm, uint version = 1)
    {
        Send(new ProducerMessage { Hello = new ProducerHello { ProtocolVersion = version, Vm = vm } });
        var fds = new List<FdHandle>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TestWait.Bound)
        {
            var status = _channel.TryReceive(out var message, fds, maxFds: 1);
            if (status == ReceiveStatus.Message)
            {
                lock (_received)
                {
                    _received.Add(message!);
                }

                return message!;
            }

            Assert.That(status, Is.Not.EqualTo(ReceiveStatus.Closed), "the service closed the connection");
            _ = DeviceFile.Poll(_channel.Socket.Handle, 20);
        }

        throw new TimeoutException("no answer to ProducerHello");
    }

    /// <summary>Records (and acknowledges demands) from now on.</summary>
    public void StartPump() => _pump = new MessagePump<ServiceToProducer, ProducerMessage>(_channel, "scripted-producer", OnMessage);

    /// <summary>Every message received so far.</summary>
    public IReadOnlyList<ServiceToProducer> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>Every Demand received so far, in order.</summary>
    public IReadOnlyList<Demand> Demands => [.. Received.Where(m => m.KindCase == ServiceToProducer.KindOneofCase.Demand).Select(m => m.Demand)];

    /// <summary>The latest Demand, or null before the first.</summary>
    public Demand? LatestDemand => Demands is { Count: > 0 } demands ? demands[^1] : null;

    /// <summary>Waits until a Demand after the first <paramref name="skip"/> demands matches <paramref name="match"/>.</summary>
    public Demand WaitForDemand(Func<Demand, bool> match, int skip = 0, string what = "the expected demand")
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TestWait.Bound)
        {
            if (Demands.Skip(skip).FirstOrDefault(match) is { } found)
            {
                return found;
            }

            Thread.Sleep(5);
        }

        throw new TimeoutException($"no {what} within {TestWait.Bound}; demands: {string.Join("; ", Demands)}");
    }

    /// <summary>Waits for the service's ProducerRefused (or the connection closing without one: null).</summary>
    public ProducerRefused? WaitRefused()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TestWait.Bound)
        {
            if (Received.FirstOrDefault(m => m.KindCase == ServiceToProducer.KindOneofCase.Refused) is { } refused)
            {
                return refused.Refused;
            }

            if (IsClosed)
            {
                return Received.Where(m => m.KindCase == ServiceToProducer.KindOneofCase.Refused).Select(m => m.Refused).FirstOrDefault();
            }

            Thread.Sleep(5);
        }

        throw new TimeoutException("the service neither refused the producer nor closed its connection");
    }

    /// <summary>Whether the service closes this connection within the bound.</summary>
    public bool WaitClosed()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TestWait.Bound && !IsClosed)
        {
            Thread.Sleep(5);
        }

        return IsClosed;
    }

    /// <summary>Sends a message, waiting while the socket queue is full (the service reads in bounded batches).</summary>
    public void Send(ProducerMessage message) =>
        Assert.That(TrySend(message), Is.True, "the service stopped reading the producer's socket");

    /// <summary>Like <see cref="Send"/>, false when the queue stayed full for the whole bound (for background threads, which must not assert).</summary>
    public bool TrySend(ProducerMessage message)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TestWait.Bound)
        {
            lock (_sendLock)
            {
                if (_channel.TrySend(message))
                {
                    return true;
                }
            }

            Thread.Sleep(1);
        }

        return false;
    }

    /// <summary>Sends bytes the protocol does not allow, optionally with an fd.</summary>
    public void SendRaw(byte[] packet, FdHandle? fd = null)
    {
        lock (_sendLock)
        {
            Assert.That(fd is null ? _channel.Socket.TrySendPacket(packet) : _channel.Socket.TrySendPacket(packet, [fd.Fd]), Is.True);
        }
    }

    /// <summary>
    /// Announces a stream (ProducerStreamStarted, size_image the packed size unless told) and, unless the service
    /// refuses it, waits for its ring and maps it.
    /// </summary>
    public ProducerRing? StartStream(FrameFormat format, FrameRate rate, uint? sizeImage = null)
    {
        var rings = Received.Count(m => m.KindCase == ServiceToProducer.KindOneofCase.Ring);
        Send(new ProducerMessage
        {
            StreamStarted = new ProducerStreamStarted
            {
                PixelFormat = format.PixelFormat,
                Width = format.Width,
                Height = format.Height,
                IntervalNumerator = rate.Numerator,
                IntervalDenominator = rate.Denominator,
                SizeImage = sizeImage ?? format.SizeImage,
            },
        });
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TestWait.Bound)
        {
            List<ServiceToProducer> received;
            lock (_received)
            {
                received = [.. _received];
                if (received.Count(m => m.KindCase == ServiceToProducer.KindOneofCase.Ring) > rings)
                {
                    var fd = _ringFds[^1];
                    var ring = received.Last(m => m.KindCase == ServiceToProducer.KindOneofCase.Ring).Ring;
                    DropRing();
                    Ring = FrameRingWriter.Attach(ring.RingId, fd, ring.SlotCount, ring.SlotSize, ring.FrameSize);
                    _raw = MappedMemory.MapShared(fd, (ulong)Ring.Layout.TotalSize);
                    RingMessage = ring;
                    Format = format;
                    return ring;
                }
            }

            if (IsClosed || received.Any(m => m.KindCase == ServiceToProducer.KindOneofCase.Refused))
            {
                return null;
            }

            Thread.Sleep(2);
        }

        throw new TimeoutException($"no ProducerRing for {format} within {TestWait.Bound}");
    }

    public void StopStream()
    {
        Send(new ProducerMessage { StreamStopped = new ProducerStreamStopped() });
        DropRing();
    }

    /// <summary>Writes <paramref name="frame"/> into the ring's next slot as the next sequence; returns where.</summary>
    public (int Slot, ulong Sequence) Write(ReadOnlySpan<byte> frame)
    {
        var ring = Ring ?? throw new InvalidOperationException("no ring: start a stream first");
        frame.CopyTo(ring.BeginWrite(out var slot));
        var sequence = ++_sequence;
        ring.EndWrite(sequence, MonotonicClock.NowNanoseconds());
        return (slot, sequence);
    }

    /// <summary>Announces a frame (of the current ring unless told otherwise).</summary>
    public void Announce(int slot, ulong sequence, ulong? ringId = null) =>
        Send(new ProducerMessage { Frame = new ProducerFrame { RingId = ringId ?? Ring!.Id, Slot = (uint)slot, Sequence = sequence } });

    /// <summary>Writes and announces one frame.</summary>
    public (int Slot, ulong Sequence) Publish(ReadOnlySpan<byte> frame)
    {
        var written = Write(frame);
        Announce(written.Slot, written.Sequence);
        return written;
    }

    /// <summary>The seqlock version word of <paramref name="slot"/> in the producer's own mapping of the ring.</summary>
    public ref long VersionOf(int slot) => ref *(long*)(_raw!.BaseAddress + Ring!.Layout.SlotOffset(slot) + FrameRingLayout.VersionOffset);

    /// <summary>The frame bytes of <paramref name="slot"/> in the producer's own mapping of the ring (no seqlock).</summary>
    public Span<byte> FrameBytesOf(int slot) =>
        new(_raw!.BaseAddress + Ring!.Layout.SlotOffset(slot) + FrameRingLayout.HeaderSize, Ring.Layout.FrameSize);

    /// <summary>
    /// Plays the camera VM's agent: while the latest Demand wants frames, streams in the demanded mode (or in
    /// <paramref name="format"/> at the demanded rate when given) and writes frame <c>i</c> of <paramref name="frames"/>
    /// (cycling) at the stream's rate; stops streaming when frames are no longer wanted.
    /// </summary>
    public void RunAgent(Func<FrameFormat, IReadOnlyList<byte[]>> frames, FrameFormat? format = null)
    {
        _agent = new Thread(() => Agent(frames, format)) { IsBackground = true, Name = "scripted-camera-vm-agent" };
        _agent.Start();
    }

    /// <summary>The agent stops writing frames but keeps its stream (a camera VM that silently stalls).</summary>
    public void PauseAgent() => _agentPaused = true;

    public void ResumeAgent() => _agentPaused = false;

    /// <summary>Test-pattern frames 0..count-1 of <paramref name="pattern"/> in <paramref name="format"/>.</summary>
    public static byte[][] PatternFrames(FrameFormat format, byte pattern, int count)
    {
        var frames = new byte[count][];
        var source = new TestPatternSource();
        for (var i = 0; i < count; i++)
        {
            var sink = new MemoryFrameSink((int)format.SizeImage);
            _ = source.Render(format, ((uint)pattern << 24) | (uint)i, sink);
            frames[i] = sink.WrittenMemory.ToArray();
        }

        return frames;
    }

    public void Dispose()
    {
        _stop = true;
        _agent?.Join(TimeSpan.FromSeconds(5));
        _pump?.Dispose();
        DropRing();
        foreach (var fd in _ringFds)
        {
            fd.Dispose();
        }

        _channel.Dispose();
    }

    private void DropRing()
    {
        Ring?.Dispose();
        Ring = null;
        _raw?.Dispose();
        _raw = null;
    }

    private void Agent(Func<FrameFormat, IReadOnlyList<byte[]>> frameSource, FrameFormat? fixedFormat)
    {
        try
        {
            RunAgentLoop(frameSource, fixedFormat);
        }
        catch (Exception e) when (!IsClosed && !_stop)
        {
            AgentFailure = e;
        }
        catch (Exception e) when (e is NativeException or AssertionException or TimeoutException)
        {
            // The connection went away under the agent (the test closed or the service refused it).
        }
    }

    private void RunAgentLoop(Func<FrameFormat, IReadOnlyList<byte[]>> frameSource, FrameFormat? fixedFormat)
    {
        IReadOnlyList<byte[]> frames = [];
        var streaming = false;
        var period = TimeSpan.Zero;
        var index = 0;
        while (!_stop && !IsClosed)
        {
            var demand = LatestDemand;
            var target = demand is { Wanted: true } d
                ? fixedFormat ?? new FrameFormat(d.PixelFormat, d.Width, d.Height)
                : (FrameFormat?)null;
            if (target is { } format && (!streaming || format != Format))
            {
                if (streaming)
                {
                    StopStream();
                }

                var rate = new FrameRate(demand!.IntervalNumerator, demand.IntervalDenominator);
                streaming = StartStream(format, rate) is not null;
                frames = frameSource(format);
                period = rate.Period;
            }
            else if (target is null && streaming)
            {
                StopStream();
                streaming = false;
            }

            if (streaming && !_agentPaused)
            {
                Publish(frames[index++ % frames.Count]);
                Interlocked.Increment(ref _agentFrames);
                Interlocked.Exchange(ref _agentLastFrame, Stopwatch.GetTimestamp());
                // At least a period between frames: never faster than the stream's rate.
                Thread.Sleep(period);
            }
            else
            {
                Thread.Sleep(5);
            }
        }
    }

    private void OnMessage(ServiceToProducer message, List<FdHandle> fds)
    {
        lock (_received)
        {
            _ringFds.AddRange(fds);
            _received.Add(message);
        }

        if (message.KindCase == ServiceToProducer.KindOneofCase.Demand)
        {
            try
            {
                _ = TrySend(new ProducerMessage { DemandAck = new DemandAck { Generation = message.Demand.Generation } });
            }
            catch (NativeException)
            {
                // The service closed the connection; the pump sees it next.
            }
        }
    }
}
