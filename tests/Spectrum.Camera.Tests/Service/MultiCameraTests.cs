using Spectrum.Camera.Frames;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Media;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// Several cameras in one service, with real sidecar devices and guest streams: two test-pattern cameras with
/// different patterns (the pattern number is the top byte of each frame's number, so every frame says which camera it
/// came from), VMs assigned to each, a VM moved to the other camera while it streams, and one camera unplugged.
/// </summary>
[NonParallelizable]
public sealed class MultiCameraTests
{
    private const int SequenceBits = 24;
    private static readonly string[] TwoCameras = ["cam-a=test-pattern:1", "cam-b=test-pattern:2"];
    private static readonly string[] OnlyVmA = ["vm-a"];
    private static readonly string[] OnlyVmB = ["vm-b"];

    private static MediaHarness StartSidecar(ServiceFixture service, string vm) => ServiceGuest.StartSidecar(service, vm);

    private static CaptureClient StartStreaming(MediaHarness h, uint? fourcc = null) => ServiceGuest.StartStreaming(h, fourcc ?? Nv12);

    /// <summary>Dequeues (and requeues) frames until <paramref name="until"/> says stop.</summary>
    private static List<Frame> Collect(CaptureClient client, Func<List<Frame>, bool> until, int max = 3000)
    {
        var frames = new List<Frame>();
        while (frames.Count < max && !until(frames))
        {
            var (_, index, sequence, _, bytes) = client.NextFrame();
            frames.Add(Classify(client.Format, sequence, bytes));
            client.Queue(index);
        }

        return frames;
    }

    /// <summary>Pattern 1 or 2 for a real frame of that camera, 0 for black, -1 for anything else.</summary>
    private static Frame Classify(FrameFormat format, uint sequence, byte[] bytes) =>
        TestPatternVerifier.TryDecode(format, bytes, out var number, out var exact) && exact
            ? new Frame(sequence, (int)(number >> SequenceBits))
            : new Frame(sequence, TestPatternVerifier.IsBlack(format, bytes) ? 0 : -1);

    private static int Count(List<Frame> frames, int pattern) => frames.Count(f => f.Pattern == pattern);

    private static CameraInfo Camera(ServiceFixture service, string name) => service.Cameras().Single(c => c.Name == name);

    [Test]
    public void Two_vms_on_two_cameras_each_get_their_own_cameras_frames_and_a_camera_opens_only_for_allowed_streams()
    {
        using var service = new ServiceFixture(TwoCameras, TimeSpan.FromSeconds(30), "vm-a", "vm-b");
        Assert.That(service.Status("vm-b").Camera, Is.EqualTo("cam-a"), "the first camera is the default");
        var assigned = service.Assign("vm-b", "cam-b");
        Assert.That((assigned.Camera, assigned.Changed), Is.EqualTo(("cam-b", true)));
        Assert.That(service.Assign("vm-b", "cam-b").Changed, Is.False);
        service.SetPermission("vm-a", true);

        using var a = StartSidecar(service, "vm-a");
        using var b = StartSidecar(service, "vm-b");
        var ca = StartStreaming(a);
        var cb = StartStreaming(b, Yu12);
        var fa = Collect(ca, f => Count(f, 1) >= 20);
        var denied = Collect(cb, f => f.Count >= 20);
        Assert.That(denied.Select(f => f.Pattern), Is.All.EqualTo(0), "vm-b is denied: black");
        Assert.That(Camera(service, "cam-b").State, Is.EqualTo("stopped"), "no allowed VM streams from cam-b: it stays closed");

        service.SetPermission("vm-b", true);
        var fb = Collect(cb, f => Count(f, 2) >= 20);
        fa.AddRange(Collect(ca, f => f.Count >= 20));
        Assert.Multiple(() =>
        {
            Assert.That(fa.Select(f => f.Pattern), Is.All.EqualTo(1).Or.EqualTo(0), "vm-a: cam-a's frames (black while it opened)");
            Assert.That(Count(fa, 1), Is.GreaterThanOrEqualTo(20));
            Assert.That(fb.Select(f => f.Pattern), Is.All.EqualTo(2).Or.EqualTo(0), "vm-b: cam-b's frames only");
            Assert.That(Count(fb, 2), Is.GreaterThanOrEqualTo(20));
            Assert.That(service.Status("vm-a").Camera, Is.EqualTo("cam-a"));
            Assert.That(service.Status("vm-b").Camera, Is.EqualTo("cam-b"));
            Assert.That(service.Status("vm-b").CameraState, Is.EqualTo("streaming"));
        });
        var cameras = service.Cameras();
        Assert.Multiple(() =>
        {
            Assert.That(cameras.Select(c => (c.Name, c.Device)), Is.EqualTo(new[] { ("cam-a", "test-pattern:1"), ("cam-b", "test-pattern:2") }));
            Assert.That(cameras[0].Vms, Is.EqualTo(OnlyVmA));
            Assert.That(cameras[1].Vms, Is.EqualTo(OnlyVmB));
            Assert.That(cameras[0].ReceivingVms, Is.EqualTo(OnlyVmA));
            Assert.That(cameras[1].ReceivingVms, Is.EqualTo(OnlyVmB));
            Assert.That(cameras.Select(c => c.State), Is.All.EqualTo("streaming"));
        });

        Assert.That(cb.StreamOff(), Is.Zero);
        b.DrainEvents(TimeSpan.FromMilliseconds(300));
        Assert.That(Camera(service, "cam-b").State, Is.EqualTo("stopped"), "closed once its last allowed VM stopped");
        Assert.That(Camera(service, "cam-a").State, Is.EqualTo("streaming"), "the other camera is untouched");
    }

    [Test]
    public void A_vm_moved_to_another_camera_while_it_streams_sees_the_new_picture_from_one_frame_to_the_next()
    {
        using var service = new ServiceFixture(TwoCameras, TimeSpan.FromSeconds(30), "vm-a");
        service.SetPermission("vm-a", true);
        using var events = new OperatorEventRecorder(service.Options.OperatorSocketPath);
        using var a = StartSidecar(service, "vm-a");
        var client = StartStreaming(a);
        var format = client.Format;
        var frames = Collect(client, f => Count(f, 1) >= 20);
        var before = frames.Count;

        Assert.That(service.Assign("vm-a", "cam-b").Changed, Is.True);
        frames.AddRange(Collect(client, f => Count(f, 2) >= 30));
        var firstB = frames.FindIndex(f => f.Pattern == 2);
        var afterAssign = frames.Skip(before).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(client.Format, Is.EqualTo(format), "the guest's format never changed");
            Assert.That(afterAssign.Where(f => f.Pattern is 0 or -1), Is.Empty, "no black (or mixed) frame around the move");
            Assert.That(frames.Skip(firstB).Where(f => f.Pattern != 2), Is.Empty, "only cam-b's frames once the first arrived");
            Assert.That(firstB, Is.GreaterThan(before), "cam-a's frames until cam-b had one");
        });
        for (var i = 1; i < frames.Count; i++)
        {
            // The device numbers the frames it fills; one it had no queued buffer for is skipped, as a camera would.
            Assert.That(frames[i].Sequence, Is.GreaterThan(frames[i - 1].Sequence), "the guest's sequence goes on: the stream never restarted");
        }

        Assert.That(Camera(service, "cam-a").State, Is.EqualTo("stopped"), "cam-a closed: nobody streams from it");
        Assert.That(service.Status("vm-a").Camera, Is.EqualTo("cam-b"));
        var actions = service.Audit("vm-a").Entries.Select(e => $"{e.Action}: {e.Detail}").ToList();
        Assert.That(actions, Has.Some.StartsWith("assign: camera cam-b (was cam-a)"));
        Assert.That(actions, Has.Some.StartsWith("real-stream-stop: moved to camera cam-b"));
        Assert.That(actions.Last(), Does.StartWith("real-stream-start: NV12 320x240").And.Contain("from camera cam-b (test-pattern:2)"));
        Assert.That(events.Events.Where(e => e.KindCase == Event.KindOneofCase.RealFrames).Select(e => e.RealFrames.Receiving),
            Is.All.True, "a move is not a stop: the VM never stopped receiving real frames");
        Assert.That(events.Events.Single(e => e.KindCase == Event.KindOneofCase.CameraChanged).CameraChanged.Camera, Is.EqualTo("cam-b"));

        // The policy keeps the assignment across a restart.
        service.Restart();
        Assert.That(service.Status("vm-a").Camera, Is.EqualTo("cam-b"));
    }

    [Test]
    public void Unplugging_one_camera_turns_only_its_vms_black_until_it_is_back()
    {
        UnpluggableCameraFeed? camB = null;
        using var service = new ServiceFixture(TwoCameras, TimeSpan.FromSeconds(30), (loop, camera) =>
            camera.Name == "cam-b" ? camB = new UnpluggableCameraFeed(loop, 2) : CameraFeeds.Create(loop, camera.Spec), "vm-a", "vm-b");
        service.SetPermission("vm-a", true);
        service.SetPermission("vm-b", true);
        service.Assign("vm-b", "cam-b");
        using var a = StartSidecar(service, "vm-a");
        using var b = StartSidecar(service, "vm-b");
        var ca = StartStreaming(a);
        var cb = StartStreaming(b);
        Collect(ca, f => Count(f, 1) >= 10);
        Collect(cb, f => Count(f, 2) >= 10);

        camB!.Unplug();
        var gone = Collect(cb, f => f.Count >= 10 && f.TakeLast(10).All(x => x.Pattern == 0));
        var meanwhile = Collect(ca, f => f.Count >= 60);
        Assert.Multiple(() =>
        {
            Assert.That(gone.TakeLast(10).Select(f => f.Pattern), Is.All.EqualTo(0), "vm-b: black once cam-b is gone");
            Assert.That(meanwhile.Select(f => f.Pattern), Is.All.EqualTo(1), "vm-a: cam-a's frames throughout");
            Assert.That(service.Status("vm-b").CameraState, Is.EqualTo("unavailable"));
            Assert.That(service.Status("vm-a").CameraState, Is.EqualTo("streaming"));
            Assert.That(Camera(service, "cam-b").State, Is.EqualTo("unavailable"));
        });

        camB.Replug();
        var back = Collect(cb, f => Count(f, 2) >= 10);
        Assert.That(back.Select(f => f.Pattern), Is.All.EqualTo(2).Or.EqualTo(0), "vm-b: cam-b's frames again");
        Assert.That(Collect(ca, f => f.Count >= 20).Select(f => f.Pattern), Is.All.EqualTo(1));
    }

    private sealed record Frame(uint Sequence, int Pattern);
}
