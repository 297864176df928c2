using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Service;

/// <summary>
/// One host camera shared by the allowed, streaming VMs: the feed, one <see cref="OutputGroup"/> per guest format,
/// and the fan-out of each camera frame (convert once per format into the group's ring, then one FrameReady notice
/// per member). The camera is open only while the hub has members. Only allowed VMs are ever members: the service
/// removes a VM before telling it about a deny.
/// </summary>
internal sealed class CameraHub : IDisposable
{
    private readonly ICameraFeed _feed;
    private readonly int _ringSlots;
    private readonly Dictionary<FrameFormat, OutputGroup> _groups = [];
    private readonly Dictionary<SidecarSession, OutputGroup> _memberships = [];
    private readonly List<StreamRequest> _requests = [];

    public CameraHub(ICameraFeed feed, int ringSlots)
    {
        _feed = feed;
        _ringSlots = ringSlots;
        feed.FrameArrived += OnFrame;
        feed.StateChanged += OnStateChanged;
    }

    public string CameraName => _feed.Name;

    public FeedState State => _feed.State;

    public string Description => _feed.Description;

    public int MemberCount => _memberships.Count;

    /// <summary>Camera frames received while somebody streamed.</summary>
    public ulong FramesReceived { get; private set; }

    public bool IsMember(SidecarSession session) => _memberships.ContainsKey(session);

    /// <summary>Adds an allowed, streaming sidecar: it gets its group's ring now and frames from the next one on.</summary>
    public void Join(SidecarSession session, StreamRequest request)
    {
        Leave(session, rotate: false);
        if (!_groups.TryGetValue(request.Format, out var group))
        {
            group = new OutputGroup(request.Format, _ringSlots);
            _groups.Add(request.Format, group);
        }

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
    }

    private void Replan()
    {
        if (_memberships.Count == 0)
        {
            if (_feed.State != FeedState.Stopped)
            {
                Log.Info("service", $"camera {_feed.Name}: no allowed VM streams any more; closing it");
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

        _feed.StartStreaming(_requests);
    }

    private void OnFrame(ICameraFrame frame)
    {
        FramesReceived++;
        foreach (var group in _groups.Values)
        {
            var destination = group.Ring.BeginWrite(out var slot);
            var result = frame.RenderInto(group.Format, destination);
            if (result != ConversionResult.Converted)
            {
                group.Ring.AbortWrite();
                group.Dropped++;
                continue;
            }

            group.Ring.EndWrite(frame.Sequence, frame.TimestampNanoseconds);
            group.Converted++;
            var notice = new ServiceMessage
            {
                FrameReady = new FrameReady
                {
                    RingId = group.Ring.Id,
                    Slot = (uint)slot,
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

    private void OnStateChanged(FeedState state, string detail)
    {
        var message = StateMessage(state, detail);
        foreach (var member in _memberships.Keys.ToArray())
        {
            member.Send(message);
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
}
