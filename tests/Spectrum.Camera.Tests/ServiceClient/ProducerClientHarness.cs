using Spectrum.Camera.Frames;
using Spectrum.Camera.ServiceClient;
using Spectrum.Camera.Tests.Core;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Tests.ServiceClient;

/// <summary>
/// A <see cref="ProducerClient"/> on a real <see cref="EventLoop"/> thread, connected (or trying to connect) to a
/// <see cref="ScriptedProducerService"/> in a temporary directory. The test plays the output device: everything it
/// does to the client is posted onto the loop (<see cref="OnLoop{T}"/>), as the device calls it there; every demand
/// the client hands the device is recorded; the log is captured.
/// </summary>
internal sealed class ProducerClientHarness : IDisposable
{
    private readonly string _directory;
    private readonly LoopThread _loop = new("producer-device-loop", TestWait.Bound);
    private bool _disposed;

    public ProducerClientHarness(bool listen = true, string vm = ClientHarness.VmName)
    {
        Log = new LogCapture();
        _directory = Directory.CreateTempSubdirectory("spectrum-producer-").FullName;
        Service = new ScriptedProducerService(Path.Combine(_directory, "producer.sock"), listen);
        Client = new ProducerClient(_loop.Loop, Service.Path, vm);
        Client.DemandChanged += () => DemandsSeen.Add(Client.Demand);
    }

    public ScriptedProducerService Service { get; }

    public ProducerClient Client { get; }

    public LogCapture Log { get; }

    /// <summary>Every demand the device was handed, in order (read it on the loop).</summary>
    public List<FrameDemand?> DemandsSeen { get; } = [];

    public Exception? LoopFailure => _loop.Failure;

    /// <summary>A temporary directory of the test's own (removed on dispose).</summary>
    public string Scratch => _directory;

    public T OnLoop<T>(Func<ProducerClient, T> action) => _loop.Invoke(() => action(Client));

    public void OnLoop(Action<ProducerClient> action) => _loop.Invoke(() =>
    {
        action(Client);
        return 0;
    });

    /// <summary>What the output device does with one frame: begin, copy it whole, commit. False when the client had nowhere to put it.</summary>
    public bool Offer(FrameFormat format, byte[] frame, ulong sequence) => OnLoop(c =>
    {
        if (!c.TryBeginFrame(format, out var into))
        {
            return false;
        }

        Assert.That(into.Length, Is.EqualTo(frame.Length), "the ring offers exactly a frame");
        frame.CopyTo(into);
        c.CommitFrame(sequence);
        return true;
    });

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds on the loop.</summary>
    public bool WaitUntil(Func<ProducerClient, bool> condition) => SpinWait.SpinUntil(() => OnLoop(condition), TestWait.Bound);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_loop.Failure is null)
        {
            _loop.Invoke(() =>
            {
                Client.Dispose();
                return 0;
            });
        }
        else
        {
            Client.Dispose();
        }

        _loop.Dispose();
        Service.Dispose();
        Log.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
