using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Service;

/// <summary>
/// One host camera shared by the allowed, streaming VMs: the feed, one <see cref="OutputGroup"/> per guest format,
/// and the fan-out of each camera frame (convert once per format into the group's ring, then one FrameReady notice
/// per member). The camera is open only while the hub has members (or arrivals). Only allowed VMs are ever members:
/// the service removes a VM before telling it about a deny.
/// </summary>
/// <remarks>
/// A VM moving here from another camera while it streams is first an <em>arrival</em> (<see cref="Prepare"/>): its
/// request counts for the camera's mode, so the camera opens, but it keeps its old camera's frames until this camera's
/// first frame, when the service moves it over just before that frame is fanned out. So the guest sees no black frame
/// in between, only the other camera's picture from the next frame on.
/// </remarks>
internal sealed class CameraHub : IDisposable
{
    private readonly ICameraFeed _feed;
    private readonly int _ringSlots;
    private readonly Dictionary<FrameFormat, OutputGroup> _groups = [];
    private readonly Dictionary<SidecarSession, OutputGroup> _memberships = [];
    private readonly List<StreamRequest> _requests = [];
    private readonly Dictionary<SidecarSession, Arrival> _arrivals = [];

    public CameraHub(string name, ICameraFeed feed, int ringSlots)
    {
        Name = name;
        _feed = feed;
        _ringSlots = ringSlots;
        feed.FrameArrived += OnFrame;
        feed.StateChanged += OnStateChanged;
    }

    /// <summary>The camera's name (<c>--camera NAME=...</c>).</summary>
    public string Name { get; }

    /// <summary>What feeds it: a device path or test-pattern[:N].</summary>
    public string Device => _feed.Name;

    public FeedState State => _feed.State;

    public string Description => _feed.Description;

    /// <summary>Camera frames received while somebody streamed.</summary>
    public ulong FramesReceived { get; private set; }

    public bool IsMember(SidecarSession session) => _memberships.ContainsKey(session);

    public bool IsArriving(SidecarSession session) => _arrivals.ContainsKey(session);

    /// <summary>The sidecars receiving this camera's frames now.</summary>
    public IEnumerable<SidecarSession> Members => _memberships.Keys;

    /// <summary>
    /// Opens the camera for a sidecar that still receives another camera's frames; at this camera's next frame (or
    /// when it turns out unavailable) <paramref name="ready"/> is called, on the loop, to move it here.
    /// </summary>
    public void Prepare(SidecarSession session, StreamRequest request, Action<SidecarSession> ready)
    {
        _arrivals[session] = new Arrival(request, ready);
        if (_feed.State == FeedState.Unavailable)
        {
            FlushArrivals();
            return;
        }

        Replan();
    }

    /// <summary>Forgets an arrival (its stream stopped, it lost permission or was assigned elsewhere again).</summary>
    public void CancelArrival(SidecarSession session)
    {
        if (_arrivals.Remove(session))
        {
            Replan();
        }
    }

    /// <summary>Adds an allowed, streaming sidecar: it gets its group's ring now and frames from the next one on.</summary>
    public void Join(SidecarSession session, StreamRequest request)
    {
        Leave(session, rotate: false);
        var group = GroupFor(request.Format);
        _memberships.Add(session, group);
        group.Add(session);
        session.Send(StateMessage(_feed.State, _feed.Description));
        Replan();
    }

    /// <summary>
    /// Removes a sidecar. With <paramref name="rotate"/> (it lost permission) its group moves to a fresh ring first,
    /// so nothing the sidecar still maps is written again. The camera closes when the last member leaves.
    /// </summary>
    public void Leave(SidecarSession session, bool rotate)
    {
        if (!_memberships.Remove(session, out var group))
        {
            CancelArrival(session);
            return;
        }

        group.Remove(session);
        if (group.Members.Count == 0)
        {
            _groups.Remove(group.Format);
            group.Dispose();
        }
        else if (rotate)
        {
            group.Rotate();
        }

        Replan();
    }

    public void Dispose()
    {
        _feed.FrameArrived -= OnFrame;
        _feed.StateChanged -= OnStateChanged;
        _feed.StopStreaming();
        _feed.Dispose();
        foreach (var group in _groups.Values)
        {
            group.Dispose();
        }

        _groups.Clear();
        _memberships.Clear();
        _arrivals.Clear();
    }

    private void Replan()
    {
        if (_memberships.Count == 0 && _arrivals.Count == 0)
        {
            if (_feed.State != FeedState.Stopped)
            {
                Log.Info("service", $"camera {Name} ({_feed.Name}): no allowed VM streams from it any more; closing it");
            }

            _feed.StopStreaming();
            return;
        }

        _requests.Clear();
        foreach (var member in _memberships.Keys)
        {
            if (member.Request is { } request)
            {
                _requests.Add(request);
            }
        }

        foreach (var arrival in _arrivals.Values)
        {
            _requests.Add(arrival.Request);
        }

        _feed.StartStreaming(_requests);
    }

    private void OnFrame(ICameraFrame frame)
    {
        FramesReceived++;
        // An arriving VM's group must hold this frame before it is handed the group's ring: then its RingAttached
        // and its first FrameReady go out back to back, and its sidecar has no moment without a frame to show.
        foreach (var arrival in _arrivals.Values)
        {
            _ = GroupFor(arrival.Request.Format);
        }

        foreach (var group in _groups.Values)
        {
            var destination = group.Ring.BeginWrite(out var slot);
            var result = frame.RenderInto(group.Format, destination);
            if (result != ConversionResult.Converted)
            {
                group.Ring.AbortWrite();
                group.Dropped++;
                group.LastSlot = -1;
                continue;
            }

            group.Ring.EndWrite(frame.Sequence, frame.TimestampNanoseconds);
            group.Converted++;
            group.LastSlot = slot;
        }

        FlushArrivals();
        foreach (var group in _groups.Values.ToArray())
        {
            if (group.Members.Count == 0)
            {
                // Made for an arrival that did not come after all.
                _groups.Remove(group.Format);
                group.Dispose();
                continue;
            }

            if (group.LastSlot < 0)
            {
                continue;
            }

            var notice = new ServiceMessage
            {
                FrameReady = new FrameReady
                {
                    RingId = group.Ring.Id,
                    Slot = (uint)group.LastSlot,
                    Sequence = frame.Sequence,
                    TimestampNs = frame.TimestampNanoseconds,
                },
            };
            for (var i = 0; i < group.Members.Count; i++)
            {
                var member = group.Members[i];
                if (member.SendFrameNotice(notice))
                {
                    member.Vm.FramesOffered++;
                }
            }
        }
    }

    /// <summary>The output group of <paramref name="format"/>, made (with a fresh ring and no member) when missing.</summary>
    private OutputGroup GroupFor(FrameFormat format)
    {
        if (!_groups.TryGetValue(format, out var group))
        {
            group = new OutputGroup(format, _ringSlots);
            _groups.Add(format, group);
        }

        return group;
    }

    private void OnStateChanged(FeedState state, string detail)
    {
        if (state == FeedState.Unavailable)
        {
            // Nothing to wait for: arrivals move now and see black, as the members do.
            FlushArrivals();
        }

        var message = StateMessage(state, detail);
        foreach (var member in _memberships.Keys.ToArray())
        {
            member.Send(message);
        }
    }

    /// <summary>Hands every arrival to the service (which joins it here) before a frame is fanned out.</summary>
    private void FlushArrivals()
    {
        if (_arrivals.Count == 0)
        {
            return;
        }

        foreach (var (session, arrival) in _arrivals.ToArray())
        {
            _arrivals.Remove(session);
            arrival.Ready(session);
        }
    }

    private static ServiceMessage StateMessage(FeedState state, string detail) => new()
    {
        CameraState = new CameraState
        {
            State = state switch
            {
                FeedState.Streaming => CameraState.Types.State.Streaming,
                FeedState.Unavailable => CameraState.Types.State.Unavailable,
                _ => CameraState.Types.State.Opening,
            },
            Detail = detail,
        },
    };

    private sealed record Arrival(StreamRequest Request, Action<SidecarSession> Ready);
}
