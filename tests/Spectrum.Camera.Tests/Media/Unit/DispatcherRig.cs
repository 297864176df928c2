using Spectrum.Camera.Frames;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Output;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Tests.Media.Unit;

/// <summary>
/// A device's command handling without queues or sockets: a <see cref="CommandDispatcher"/> over fresh capture state (or,
/// with <c>output</c>, the output device's state and controls), fed requests built by the guest-side builder and
/// answering into a real <see cref="CommandResponse"/>. Guest memory is empty unless a test gives some (only QBUF and
/// PREPARE_BUF look at it); the transport has no queues, so control events wait in its backlog. There is no
/// shared-memory window unless a test attaches a mapper.
/// </summary>
internal sealed class DispatcherRig
{
    private readonly CommandResponse _response = new();

    /// <param name="sharedMemorySize">Region 0's size; the window is usable only once a test attaches a mapper.</param>
    public DispatcherRig(StableMenu? menu = null, GuestMemory? memory = null, bool output = false, ulong sharedMemorySize = 0)
    {
        Transport = new VirtqueueTransport(CommandDispatcher.MaxRequestBytes);
        State = new DeviceState(menu ?? StableMenu.Default, sessionLimit: 8, output ? V4l2.BufTypeVideoOutput : V4l2.BufTypeVideoCapture);
        Window = new SharedMemoryWindow(sharedMemorySize, Transport);
        State.Queue.ReleaseOwned = Window.Release;
        if (output)
        {
            Controls = new OutputControls(State, Transport);
            Buffers = new BufferIoctls(State, new FrameReceiver(State, new RecordingDestination(), Transport), Window);
        }
        else
        {
            Streamer = new FrameStreamer(State, new BlackFrameSource(), Transport);
            Buffers = new BufferIoctls(State, Streamer, Window);
        }

        Dispatcher = new CommandDispatcher(State, new IoctlAllowlist(State, Buffers, Controls), Window);
        Memory = memory ?? GuestMemory.Empty;
    }

    public DeviceState State { get; }

    /// <summary>The output device's controls; null on the capture device.</summary>
    public OutputControls? Controls { get; }

    public VirtqueueTransport Transport { get; }

    public SharedMemoryWindow Window { get; }

    /// <summary>The capture device's frame engine; null on the output device.</summary>
    public FrameStreamer? Streamer { get; }

    public BufferIoctls Buffers { get; }

    public CommandDispatcher Dispatcher { get; }

    public GuestMemory Memory { get; }

    /// <summary>Handles <paramref name="request"/> with <paramref name="writable"/> bytes of room; returns the answer's bytes.</summary>
    public byte[] Send(byte[] request, uint writable = 4096, params GuestRange[] segments)
    {
        _response.Begin(writable);
        Dispatcher.Handle(new CommandRequest(request, (uint)request.Length, writable, Memory, segments), _response);
        return _response.Bytes.ToArray();
    }

    public uint Open() => MediaRequests.Read<VirtioMediaOpenResponse>(Send(MediaRequests.Open())).SessionId;

    /// <summary>An ioctl; returns its status and its payload (empty when the answer is the header alone).</summary>
    public (Errno Status, byte[] Payload) Ioctl(uint session, V4l2IoctlNumber code, byte[] payload, byte[]? extra = null, uint writable = 4096)
    {
        var answer = Send(MediaRequests.Ioctl(session, code, payload, extra), writable);
        var header = MediaRequests.Read<VirtioMediaResponseHeader>(answer);
        return ((Errno)header.Status, answer[MediaRequests.SizeOf<VirtioMediaResponseHeader>()..]);
    }
}
