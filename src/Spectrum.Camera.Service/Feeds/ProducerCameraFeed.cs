using Spectrum.Camera.Frames;
using Spectrum.Camera.Host;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Producer;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// A camera VM as a feed (<c>--camera NAME=vm:VM</c>, docs/camera-vm.md): its producer sidecar connects to the
/// service's producer socket for the VM, the service tells it when frames are wanted and in which mode (Demand), and
/// every frame the camera VM streams is copied once out of the ring the service made for its stream and converted
/// into each guest format exactly as a host camera's frames are.
/// </summary>
/// <remarks>
/// <para>Demand follows the hub's requests with the V4L2 feed's planning: <see cref="FeedModePlanner"/> turns the
/// allowed, streaming consumers' requests into one, <see cref="ModeSelector"/> picks the menu mode for it, and the mode
/// changes only when the one asked for no longer covers the plan. With no request the service says frames are not
/// wanted, so the camera VM closes its camera.</para>
/// <para>The camera VM is untrusted. A stream outside the menu, a message out of order, a slot past the ring, an
/// acknowledgement of a demand never sent: the producer is refused and its connection closed. A frame of another ring,
/// a stale or torn slot, a frame faster than the stream's rate or one nobody wants: dropped and counted. Consumers get
/// black at once whenever the feed is not <see cref="FeedState.Streaming"/> (the producer gone, refused, stopped or
/// silent for <see cref="StallLimit"/>), and real frames again with the next good frame; their streams never stop.</para>
/// <para>Loop thread only, like the <see cref="EventLoop"/> it is given.</para>
/// </remarks>
public sealed class ProducerCameraFeed : CameraFeedBase
{
    /// <summary>The <c>--camera</c> spec prefix that names a camera VM: <c>vm:VM</c>.</summary>
    public const string SpecPrefix = "vm:";

    /// <summary>The protocol version this service speaks with producers.</summary>
    public const uint ProtocolVersion = 1;

    /// <summary>
    /// A streaming camera VM that sends no frame for this long is taken as stalled (unavailable). The same limit after
    /// which a consumer's sidecar stops showing a frame, so the operator's status and the guests' black agree.
    /// </summary>
    public static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(2);

    /// <summary>How often a wanted feed checks for a stall.</summary>
    private const long StallCheckNanoseconds = 250_000_000;

    private readonly EventLoop _loop;
    private readonly int _ringSlots;
    private readonly IReadOnlyList<CameraMode> _menuModes;
    private readonly FrameConverterCache _converters = new();
    private readonly ProducerCameraFrame _frame;
    private ProducerSession? _producer;
    private ProducerStream? _stream;
    private StreamRequest _plan;
    private HostMode? _demand;
    private ulong _demandGeneration;
    private LoopTimer? _stallTimer;
    private long _lastFrameNs;
    private ulong _sequence;

    /// <summary>The camera VM <paramref name="vm"/> as a feed driven by <paramref name="loop"/>.</summary>
    /// <param name="loop">The service's loop.</param>
    /// <param name="vm">The camera VM (a configured VM: its uid owns the producer socket).</param>
    /// <param name="menu">What the camera VM may stream (its output device offers the same); default the default menu.</param>
    /// <param name="ringSlots">Slots of each producer ring.</param>
    public ProducerCameraFeed(EventLoop loop, string vm, StableMenu? menu = null, int ringSlots = 4)
        : base(SpecPrefix + vm)
    {
        ArgumentNullException.ThrowIfNull(loop);
        if (!Protocol.VmNames.IsValid(vm))
        {
            throw new ArgumentException($"camera '{SpecPrefix}{vm}': '{vm}' is not a VM name ({Protocol.VmNames.Pattern})", nameof(vm));
        }

        _loop = loop;
        Vm = vm;
        Menu = menu ?? StableMenu.Default;
        _ringSlots = ringSlots;
        _menuModes = MenuModes(Menu);
        _frame = new ProducerCameraFrame(this, _converters);
    }

    /// <summary>The camera VM.</summary>
    public string Vm { get; }

    /// <summary>The formats, sizes and rates the camera VM may stream and be asked for.</summary>
    public StableMenu Menu { get; }

    /// <summary>Whether a welcomed producer is connected.</summary>
    public bool IsConnected => _producer is not null;

    /// <summary>The mode frames are wanted in, or null while they are not.</summary>
    public HostMode? Demand => _demand;

    /// <summary>The number of the last Demand sent (0 before the first).</summary>
    public ulong DemandGeneration => _demandGeneration;

    /// <summary>The last demand generation the producer acknowledged.</summary>
    public ulong AcknowledgedGeneration { get; private set; }

    /// <summary>What the camera VM streams now, or null.</summary>
    public HostMode? StreamMode => _stream?.Mode;

    /// <summary>Frames dropped because they came faster than the stream's rate.</summary>
    public ulong TooFastFrames { get; private set; }

    /// <summary>Frames dropped because their slot did not hold them (or their sequence went backwards).</summary>
    public ulong StaleFrames { get; private set; }

    /// <summary>Frames dropped because the camera VM rewrote the slot during the copy.</summary>
    public ulong TornFrames { get; private set; }

    /// <summary>Frames dropped because they named a ring that is not the current stream's.</summary>
    public ulong OtherRingFrames { get; private set; }

    /// <summary>Frames dropped because nobody wanted frames.</summary>
    public ulong UnwantedFrames { get; private set; }

    /// <summary>Producers refused (connections closed) for breaking the protocol or streaming outside the menu.</summary>
    public ulong Refusals { get; private set; }

    protected override string ModeDescription
    {
        get
        {
            var mode = _stream is { } stream ? $" {stream.Mode} from the camera VM" : "";
            var wanted = _demand is { } demand ? $" (asked {demand} for {_plan})" : "";
            return $"{mode}{wanted}; dropped {TooFastFrames} too fast, {StaleFrames} stale, {TornFrames} torn, " +
                   $"{OtherRingFrames} of another ring, {UnwantedFrames} unwanted; {Refusals} producers refused";
        }
    }

    /// <summary>Every format and size of <paramref name="menu"/> at every rate: the modes demand is chosen from.</summary>
    public static IReadOnlyList<CameraMode> MenuModes(StableMenu menu)
    {
        ArgumentNullException.ThrowIfNull(menu);
        return [.. menu.Formats.SelectMany(f => menu.Sizes.Select(s => new CameraMode(f, s.Width, s.Height, menu.Rates)))];
    }

    public override void StartStreaming(IReadOnlyList<StreamRequest> requests)
    {
        var plan = PlanFor(requests);
        var selected = ModeSelector.Select(_menuModes, plan.Format, plan.Rate)
            ?? throw new InvalidOperationException($"the camera VM menu {Menu} has no mode"); // Menus hold only raw formats.
        var previousPlan = _plan;
        _plan = plan;
        if (_demand is not { } current || FeedModePlanner.MustReopen(current, selected.Mode, plan))
        {
            _demand = selected.Mode;
            SendDemand();
        }
        else if (plan != previousPlan)
        {
            Log.Info(Component, $"camera VM {Vm}: keeps asking for {current} for {plan}");
        }

        _stallTimer ??= LoopTimer.Start(_loop, StallCheckNanoseconds, OnStallCheck);
        if (State == FeedState.Stopped)
        {
            if (_producer is null)
            {
                SetState(FeedState.Unavailable, NotConnectedDetail());
            }
            else
            {
                SetState(FeedState.Opening, $"camera VM {Vm}: frames wanted in {_demand}; waiting for its first frame");
            }
        }
    }

    public override void StopStreaming()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (_demand is null && State == FeedState.Stopped)
        {
            return;
        }

        _demand = null;
        SendDemand();
        _stallTimer?.Dispose();
        _stallTimer = null;
        SetState(FeedState.Stopped, $"camera VM {Vm}: no VM streams from it; frames no longer wanted");
    }

    /// <summary>A producer for the camera VM was welcomed: it is told the current demand and its frames are taken.</summary>
    internal void Connect(ProducerSession producer)
    {
        ArgumentNullException.ThrowIfNull(producer);
        if (_producer is { } previous && previous != producer)
        {
            Drop(previous);
        }

        _producer = producer;
        SendDemand();
        if (_demand is { } demand)
        {
            SetState(FeedState.Opening, $"camera VM {Vm}: producer connected (pid {producer.PeerPid}); frames wanted in {demand}; waiting for its first frame");
        }
    }

    /// <summary>The producer's connection closed (either side): consumers get black until another one streams.</summary>
    internal void Disconnected(ProducerSession producer, string reason)
    {
        if (producer != _producer)
        {
            return;
        }

        Drop(producer);
        if (_demand is null)
        {
            Log.Info(Component, $"camera VM {Vm}: producer pid {producer.PeerPid} disconnected ({reason}); frames are not wanted now");
            return;
        }

        SetState(FeedState.Unavailable, $"camera VM {Vm}: producer disconnected ({reason}); consumers get black frames until it is back");
    }

    /// <summary>A message of the welcomed producer <paramref name="producer"/>.</summary>
    internal void OnMessage(ProducerSession producer, ProducerMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (producer != _producer)
        {
            return;
        }

        switch (message.KindCase)
        {
            case ProducerMessage.KindOneofCase.Frame:
                OnFrame(message.Frame);
                break;
            case ProducerMessage.KindOneofCase.StreamStarted:
                OnStreamStarted(message.StreamStarted);
                break;
            case ProducerMessage.KindOneofCase.StreamStopped:
                OnStreamStopped();
                break;
            case ProducerMessage.KindOneofCase.DemandAck:
                OnDemandAck(message.DemandAck);
                break;
            default:
                Refuse($"unexpected {message.KindCase} after Hello");
                break;
        }
    }

    protected override void Dispose(bool disposing)
    {
        _stallTimer?.Dispose();
        _stallTimer = null;
        _stream?.Dispose();
        _stream = null;
        _producer = null;
        _converters.Dispose();
    }

    private void OnStreamStarted(ProducerStreamStarted started)
    {
        if (_stream is { } streaming)
        {
            Refuse($"started a stream while streaming {streaming.Mode} (it must stop first)");
            return;
        }

        ProducerStream? stream;
        string error;
        try
        {
            stream = ProducerStream.Open(started, Menu, _ringSlots, out error);
        }
        catch (NativeException e)
        {
            // memfd_create, ftruncate or mmap failed (out of memory or fds): the host's trouble, not the camera VM's.
            Log.Error(Component, $"camera VM {Vm}: cannot make a ring for its stream: {e.Message}; check the service's memory and fd limits");
            Refuse($"the service cannot make a ring now ({e.Message}); connect again later");
            return;
        }

        if (stream is null)
        {
            Refuse($"refused stream: {error}");
            return;
        }

        _stream = stream;
        _converters.Reset(Imaging.HostFrameFormat.Packed(stream.Format.PixelFormat, (int)stream.Format.Width, (int)stream.Format.Height));
        _sequence = 0;
        var ring = stream.Ring;
        var sent = _producer!.Send(new ServiceToProducer
        {
            Ring = new ProducerRing
            {
                RingId = ring.Id,
                SlotCount = (uint)ring.Layout.SlotCount,
                SlotSize = (uint)ring.Layout.SlotSize,
                FrameSize = (uint)ring.Layout.FrameSize,
                PixelFormat = stream.Format.PixelFormat,
                Width = stream.Format.Width,
                Height = stream.Format.Height,
            },
        }, ring.Fd);
        if (sent)
        {
            var asked = _demand is { } demand && demand != stream.Mode ? $" (the service asked for {demand}; converting)" : "";
            Log.Info(Component, $"camera VM {Vm}: streams {stream.Mode}{asked}; ring {ring.Id} of {ring.Layout.SlotCount} slots");
        }
    }

    private void OnStreamStopped()
    {
        if (_stream is null)
        {
            return;
        }

        CloseStream();
        if (_demand is { } demand)
        {
            SetState(FeedState.Opening, $"camera VM {Vm}: stopped streaming; frames wanted in {demand}; waiting for it to stream again");
        }
    }

    private void OnDemandAck(DemandAck ack)
    {
        if (ack.Generation > _demandGeneration)
        {
            Refuse($"acknowledged demand {ack.Generation}, but the service sent only up to {_demandGeneration}");
            return;
        }

        AcknowledgedGeneration = Math.Max(AcknowledgedGeneration, ack.Generation);
    }

    private void OnFrame(ProducerFrame announced)
    {
        if (_demand is null)
        {
            UnwantedFrames++;
            CountFault("unwanted", "sent a frame while frames are not wanted", UnwantedFrames);
            return;
        }

        if (_stream is not { } stream)
        {
            OtherRingFrames++;
            CountFault("other-ring", $"announced a frame of ring {announced.RingId} before it started a stream", OtherRingFrames);
            return;
        }

        var now = MonotonicClock.NowNanoseconds();
        switch (stream.Receive(announced, now))
        {
            case ProducerFrameOutcome.Copied:
                Deliver(stream, now);
                break;
            case ProducerFrameOutcome.BadSlot:
                Refuse($"announced slot {announced.Slot} of a ring of {stream.Ring.Layout.SlotCount} slots");
                break;
            case ProducerFrameOutcome.OtherRing:
                OtherRingFrames++;
                CountFault("other-ring", $"announced a frame of ring {announced.RingId}; its ring is {stream.Ring.Id}", OtherRingFrames);
                break;
            case ProducerFrameOutcome.TooFast:
                TooFastFrames++;
                CountFault("too-fast", $"sends frames faster than its stream's {FrameRates.Describe(stream.Rate)} fps", TooFastFrames);
                break;
            case ProducerFrameOutcome.Torn:
                TornFrames++;
                CountFault("torn", $"rewrote slot {announced.Slot} while the service copied frame {announced.Sequence}", TornFrames);
                break;
            default:
                StaleFrames++;
                CountFault("stale", $"announced frame {announced.Sequence} in slot {announced.Slot}, which does not hold it", StaleFrames);
                break;
        }
    }

    private void Deliver(ProducerStream stream, long now)
    {
        _lastFrameNs = now;
        if (State != FeedState.Streaming)
        {
            SetState(FeedState.Streaming, $"camera VM {Vm}: streaming {stream.Mode}");
            if (_stream != stream || _demand is null)
            {
                return; // A StateChanged handler stopped the feed.
            }
        }

        _frame.Attach(stream.Frame, _sequence++, now);
        try
        {
            Deliver(_frame);
        }
        finally
        {
            _frame.Detach();
        }
    }

    private void OnStallCheck()
    {
        if (_stallTimer is null || _stallTimer.ConsumeExpirations() == 0)
        {
            return;
        }

        if (State == FeedState.Streaming && MonotonicClock.NowNanoseconds() - _lastFrameNs >= (long)StallLimit.TotalNanoseconds)
        {
            SetState(FeedState.Unavailable,
                $"camera VM {Vm}: stalled (no frame for {StallLimit.TotalSeconds:0.#} s); consumers get black frames until it sends again");
        }
    }

    /// <summary>Refuses the current producer (the camera VM broke the protocol): consumers get black at once.</summary>
    private void Refuse(string reason)
    {
        if (_producer is not { } producer)
        {
            return;
        }

        Refusals++;
        Drop(producer);
        producer.Refuse(reason);
        if (_demand is not null)
        {
            SetState(FeedState.Unavailable, $"camera VM {Vm}: producer refused ({reason}); consumers get black frames until it reconnects");
        }
    }

    /// <summary>Forgets <paramref name="producer"/> and its stream (whatever it still maps is never read again).</summary>
    private void Drop(ProducerSession producer)
    {
        if (producer == _producer)
        {
            _producer = null;
        }

        CloseStream();
    }

    private void CloseStream()
    {
        _stream?.Dispose();
        _stream = null;
        _converters.Clear();
    }

    /// <summary>Tells the producer (if any) whether frames are wanted and in which mode.</summary>
    private void SendDemand()
    {
        _demandGeneration++;
        var demand = new Protocol.Producer.Demand { Generation = _demandGeneration, Wanted = _demand is not null };
        if (_demand is { } mode)
        {
            demand.PixelFormat = mode.PixelFormat;
            demand.Width = mode.Width;
            demand.Height = mode.Height;
            demand.IntervalNumerator = mode.Interval.Numerator;
            demand.IntervalDenominator = mode.Interval.Denominator;
        }

        Log.Info(Component, _demand is { } wanted
            ? $"camera VM {Vm}: frames wanted in {wanted} for {_plan} (demand {_demandGeneration})"
            : $"camera VM {Vm}: frames not wanted (demand {_demandGeneration})");
        _producer?.Send(new ServiceToProducer { Demand = demand });
    }

    private string NotConnectedDetail() =>
        $"camera VM {Vm}: frames wanted in {_demand}, but no producer is connected; consumers get black frames until it connects";

    /// <summary>A rate-limited line for the operator about a frame the camera VM got wrong.</summary>
    private void CountFault(string kind, string what, ulong count)
    {
        CountDrop();
        Log.GuestFault(Component, $"camera-vm {Vm} {kind}", $"camera VM {Vm} {what}: dropped ({count} so far)");
    }
}
