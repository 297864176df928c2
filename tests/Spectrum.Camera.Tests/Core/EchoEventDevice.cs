using System.Buffers.Binary;
using System.Text;
using Spectrum.Camera.Threading;
using Spectrum.Camera.VhostUser;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// A small real virtio device for exercising the backend layer (not a mock: it pops, validates, writes guest memory
/// and completes like a device does). Queue 0 is request/response "echo": the device-readable stream, reversed, is
/// written into the device-writable part (truncated to fit) and the chain completes with the bytes written. Queue 1
/// is an event queue: the device takes every buffer the driver posts and holds it until a test asks for an event.
/// Runs on the device loop thread only; tests reach it through <see cref="BackendHarness.OnLoop{T}"/>.
/// </summary>
internal sealed class EchoEventDevice : IVirtioDevice
{
    public const int EchoQueue = 0;
    public const int EventQueue = 1;

    /// <summary>Readable bytes the echo looks at; longer requests are echoed from their first this-many bytes.</summary>
    public const int MaxEcho = 64 * 1024;

    private static readonly byte[] Config = BuildConfig();

    private readonly IVirtqueue?[] _queues = new IVirtqueue?[2];
    private readonly List<DescriptorChain> _heldEvents = [];
    private readonly byte[] _request = new byte[MaxEcho];
    private readonly GuestRangeWriter _writer = new();

    /// <summary>The 40-byte config space (virtio-media layout: caps, type, card name).</summary>
    public static ReadOnlySpan<byte> ExpectedConfig => Config;

    public ulong DeviceFeatures => 0;

    /// <summary>Bytes of region 0 (0: none); set before the connection.</summary>
    public ulong SharedMemoryRegionSize { get; init; }

    /// <summary>The mapper the backend handed over last (null: none, or taken back).</summary>
    public ISharedMemoryMapper? Mapper { get; private set; }

    /// <summary>Every change of mapper, in order (null for "taken back").</summary>
    public List<ISharedMemoryMapper?> MapperChanges { get; } = [];

    public void SharedMemoryChanged(ISharedMemoryMapper? mapper)
    {
        Mapper = mapper;
        MapperChanges.Add(mapper);
    }

    public int QueueCount => 2;

    public ReadOnlySpan<byte> ConfigSpace => Config;

    public EventLoop? Loop { get; private set; }

    public int ResetCount { get; private set; }

    public int EchoCount { get; private set; }

    public int HeldEvents => _heldEvents.Count;

    public int[] StartCount { get; } = new int[2];

    public int[] StopCount { get; } = new int[2];

    public IVirtqueue? Queue(int index) => _queues[index];

    public void Attach(EventLoop deviceLoop) => Loop = deviceLoop;

    public void Reset()
    {
        ResetCount++;
        // A new driver instance: buffers of the old one are gone and must never be completed into new rings.
        _heldEvents.Clear();
    }

    public void QueueStarted(int index, IVirtqueue queue)
    {
        _queues[index] = queue;
        StartCount[index]++;
    }

    public void QueueStopped(int index)
    {
        // Held event buffers are kept: after a VM stop/cont the same driver expects them back.
        _queues[index] = null;
        StopCount[index]++;
    }

    public void QueueNotified(int index)
    {
        if (index == EchoQueue)
        {
            DrainEcho();
        }
        else
        {
            CollectEvents();
        }
    }

    /// <summary>Answers every available echo request (drain, then re-arm notifications and drain again if more arrived: virtio 1.x §2.7.10).</summary>
    public void DrainEcho()
    {
        var q = _queues[EchoQueue];
        if (q is null)
        {
            return;
        }

        var served = 0;
        do
        {
            while (q.TryPop(out var chain) == QueuePopResult.Chain)
            {
                Echo(q, chain!);
                served++;
            }
        }
        while (q.EnableNotification());

        if (served > 0)
        {
            q.NotifyIfNeeded();
        }
    }

    /// <summary>Completes the oldest held event buffer with <paramref name="payload"/>; false if none can be used.</summary>
    public bool CompleteEvent(ReadOnlySpan<byte> payload)
    {
        var q = _queues[EventQueue];
        if (q is null || q.IsBroken || _heldEvents.Count == 0)
        {
            return false;
        }

        var chain = _heldEvents[0];
        _heldEvents.RemoveAt(0);
        chain.OpenWritable(q.Memory, _writer);
        var fits = payload[..(int)Math.Min((uint)payload.Length, chain.WritableLength)];
        var ok = _writer.Write(fits);
        q.Complete(chain, ok ? (uint)_writer.Written : 0);
        q.NotifyIfNeeded();
        return ok;
    }

    private void CollectEvents()
    {
        var q = _queues[EventQueue];
        if (q is null)
        {
            return;
        }

        do
        {
            while (q.TryPop(out var chain) == QueuePopResult.Chain)
            {
                _heldEvents.Add(chain!);
            }
        }
        while (q.EnableNotification());
    }

    private void Echo(IVirtqueue q, DescriptorChain chain)
    {
        var length = (int)Math.Min(chain.ReadableLength, (uint)MaxEcho);
        var copied = chain.CopyReadable(q.Memory, _request.AsSpan(0, length));
        if (copied < 0)
        {
            q.Fail($"echo request {chain.Head} no longer maps");
            return;
        }

        var answer = _request.AsSpan(0, copied);
        answer.Reverse();
        chain.OpenWritable(q.Memory, _writer);
        var fits = answer[..(int)Math.Min((uint)answer.Length, chain.WritableLength)];
        _ = _writer.Write(fits);
        q.Complete(chain, (uint)_writer.Written);
        EchoCount++;
    }

    private static byte[] BuildConfig()
    {
        var config = new byte[40];
        BinaryPrimitives.WriteUInt32LittleEndian(config, 0x0400_0001);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(4), 0x0000_0002);
        Encoding.ASCII.GetBytes("spectrum-echo-test").CopyTo(config.AsSpan(8));
        config[39] = 0x7E;
        return config;
    }
}
