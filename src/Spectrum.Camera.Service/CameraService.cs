using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Service;

/// <summary>
/// The host camera service (docs/camera-service.md): one loop thread owns the camera feeds, the per-VM sockets, the
/// sidecar and operator connections, the policy store and the audit log, so nothing needs a lock. Permission is
/// enforced here, where frames leave the trusted side: only allowed, streaming VMs are members of a camera hub, and
/// each VM only of the hub of the camera it is assigned.
/// </summary>
public sealed partial class CameraService : IDisposable
{
    private readonly CameraServiceOptions _options;
    private readonly EventLoop _loop = new();
    private readonly PolicyStore _policy;
    private readonly AuditLog _audit;
    private readonly OperatorAuthorizer _authorizer;
    private readonly List<CameraHub> _hubs = [];
    private readonly Dictionary<string, CameraHub> _hubsByName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, VmRecord> _vms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CameraVm> _cameraVms = new(StringComparer.Ordinal);
    private readonly List<UnixSocket> _listeners = [];
    private readonly List<string> _socketFiles = [];
    private readonly List<OperatorSession> _operators = [];
    private readonly TimerFd _housekeeping = TimerFd.Create();
    private bool _started;

    /// <param name="options">Sockets, state, cameras, VMs and operators.</param>
    /// <param name="feedOnLoop">
    /// Creates a camera's feed on the service's loop (CameraFeeds.Create for its spec). A <see cref="ProducerCameraFeed"/>
    /// makes its camera a camera VM: the service creates that VM's producer socket.
    /// </param>
    /// <exception cref="ArgumentException">
    /// No VM or camera, a name given twice, a camera spec that is not one, or a camera VM that is not a configured VM.
    /// </exception>
    /// <exception cref="InvalidDataException">policy.json cannot be read.</exception>
    public CameraService(CameraServiceOptions options, Func<EventLoop, CameraConfig, ICameraFeed> feedOnLoop)
    {
        ArgumentNullException.ThrowIfNull(feedOnLoop);
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        if (options.Vms.Count == 0)
        {
            throw new ArgumentException("configure at least one VM (--vm NAME[:UID])", nameof(options));
        }

        if (options.Cameras.Count == 0)
        {
            throw new ArgumentException("configure at least one camera (--camera NAME=PATH or --camera test-pattern)", nameof(options));
        }

        foreach (var camera in options.Cameras)
        {
            if (_hubsByName.ContainsKey(camera.Name))
            {
                throw new ArgumentException(
                    $"camera name '{camera.Name}' is given twice: name each camera with --camera NAME=PATH", nameof(options));
            }

            _hubsByName.Add(camera.Name, null!);
        }

        foreach (var vm in options.Vms)
        {
            if (!_vms.TryAdd(vm.Name, new VmRecord(vm)))
            {
                throw new ArgumentException($"VM '{vm.Name}' is configured twice", nameof(options));
            }
        }

        _policy = PolicyStore.Open(options.StateDirectory);
        if (_policy.MigratedFromVersion is { } old)
        {
            Log.Info("policy", $"{_policy.FilePath} was version {old} (allow/deny only); rewrote it as version {PolicyStore.CurrentVersion}");
        }

        _audit = AuditLog.Open(options.StateDirectory);
        _authorizer = new OperatorAuthorizer(PosixFiles.EffectiveUid, options.OperatorUids, options.OperatorGid);
        try
        {
            foreach (var camera in options.Cameras)
            {
                var feed = feedOnLoop(_loop, camera);
                var hub = new CameraHub(camera.Name, feed, options.RingSlots);
                _hubs.Add(hub);
                _hubsByName[camera.Name] = hub;
                if (feed is ProducerCameraFeed cameraVm)
                {
                    AddCameraVm(camera, cameraVm);
                }
            }
        }
        catch
        {
            foreach (var hub in _hubs)
            {
                hub.Dispose();
            }

            _audit.Dispose();
            _loop.Dispose();
            throw;
        }
    }

    /// <summary>The loop thread's dispatcher (tests post onto it).</summary>
    public EventLoop Loop => _loop;

    /// <summary>
    /// Creates the runtime directory and the sockets (VM sockets and camera VMs' producer sockets owned by their VM's
    /// uid, mode 0600).
    /// </summary>
    public void Start()
    {
        if (_started)
        {
            throw new InvalidOperationException("already started");
        }

        _started = true;
        Directory.CreateDirectory(_options.RuntimeDirectory);
        Directory.CreateDirectory(_options.VmSocketDirectory);
        File.SetUnixFileMode(_options.VmSocketDirectory,
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        foreach (var vm in _vms.Values)
        {
            var path = _options.VmSocketPath(vm.Name);
            var listener = Listen(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            PosixFiles.Chown(path, vm.Config.Uid);
            _loop.Watch(listener.Fd, () => AcceptSidecar(vm, listener));
            var policy = _policy.Get(vm.Name);
            Log.Info("service", $"vm {vm.Name}: sidecar socket {path} (uid {vm.Config.Uid}), camera permission " +
                                $"{policy.Permission.ToWord()}, camera {AssignedCameraName(vm)}");
            if (HubOf(vm) is null)
            {
                Log.Warning("service", $"vm {vm.Name} is assigned camera '{policy.Camera}', which is not configured: it gets " +
                                       $"black frames until it is given one ('ctl assign {vm.Name} CAMERA') or the camera is configured again");
            }
        }

        var operatorPath = _options.OperatorSocketPath;
        var operators = Listen(operatorPath,
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        if (_options.OperatorGid is { } gid)
        {
            PosixFiles.Chown(operatorPath, uint.MaxValue, gid);
        }

        ListenForProducers();
        _loop.Watch(operators.Fd, () => AcceptOperator(operators));
        _loop.Watch(_housekeeping.Fd, OnHousekeeping);
        _housekeeping.SetPeriodic(250_000_000);
        Log.Info("service", $"cameras {string.Join(", ", _hubs.Select(h => $"{h.Name} ({h.Device})"))}; " +
                            $"operator socket {operatorPath}; state in {_options.StateDirectory}");
    }

    /// <summary>Runs the loop until <see cref="RequestStop"/>.</summary>
    public void Run() => _loop.Run();

    /// <summary>Safe from any thread and from signal handlers.</summary>
    public void RequestStop() => _loop.RequestStop();

    public void Dispose()
    {
        foreach (var vm in _vms.Values)
        {
            vm.Session?.Dispose();
            vm.Session = null;
        }

        foreach (var op in _operators)
        {
            op.Dispose();
        }

        _operators.Clear();
        foreach (var cameraVm in _cameraVms.Values)
        {
            cameraVm.Session?.Dispose();
            cameraVm.Session = null;
        }

        foreach (var hub in _hubs)
        {
            hub.Dispose();
        }

        foreach (var listener in _listeners)
        {
            _loop.Unwatch(listener.Fd);
            listener.Dispose();
        }

        foreach (var path in _socketFiles)
        {
            TryDelete(path);
        }

        _loop.Unwatch(_housekeeping.Fd);
        _housekeeping.Dispose();
        _audit.Dispose();
        _loop.Dispose();
    }

    private UnixSocket Listen(string path, UnixFileMode mode)
    {
        var listener = UnixSocket.Listen(path, backlog: 16, kind: UnixSocketKind.SeqPacket);
        _listeners.Add(listener);
        _socketFiles.Add(path);
        File.SetUnixFileMode(path, mode);
        return listener;
    }

    private void AcceptSidecar(VmRecord vm, UnixSocket listener)
    {
        if (AcceptPeer(vm, "VM", listener, vm.Session,
                (socket, pid, uid) => new SidecarSession(vm, socket, pid, uid, _loop, OnSidecarMessage, OnSidecarClosed)) is { } session)
        {
            vm.Session = session;
        }
    }

    /// <summary>
    /// Accepts a connection on one of <paramref name="vm"/>'s sockets (its <paramref name="role"/>: "VM", "camera
    /// VM"). The peer's uid (SO_PEERCRED) must be the VM's or root's, and there is one peer at a time: another process
    /// is refused while <paramref name="current"/> is open, while the same process reconnecting (it gave up on a slow
    /// Hello under load) replaces it, the old connection closed as if it had gone. Null when refused.
    /// </summary>
    private static TSession? AcceptPeer<TSession>(
        VmRecord vm, string role, UnixSocket listener, TSession? current, Func<UnixSocket, int, uint, TSession> open)
        where TSession : class, IVmPeer
    {
        UnixSocket socket;
        try
        {
            socket = listener.Accept();
        }
        catch (NativeException e)
        {
            Log.Warning("service", $"{role} {vm.Name}: accept failed: {e.Message}");
            return null;
        }

        var (pid, uid, _) = socket.GetPeerCredentials();
        var session = open(socket, pid, uid);
        if (uid != vm.Config.Uid && uid != 0)
        {
            session.Refuse($"uid {uid} may not connect as {role} {vm.Name}: its {session.PeerKind} must run as uid {vm.Config.Uid}");
            return null;
        }

        if (current is { IsClosed: false } previous)
        {
            if (previous.PeerPid != pid)
            {
                session.Refuse($"a {session.PeerKind} (pid {previous.PeerPid}) is already connected for {role} {vm.Name}");
                return null;
            }

            previous.Close($"replaced by a newer connection from the same {session.PeerKind}");
        }

        return session;
    }

    /// <summary>The VM's welcomed, open sidecar, or null.</summary>
    private static SidecarSession? ActiveSession(VmRecord vm) => vm.Session is { Welcomed: true, IsClosed: false } s ? s : null;

    /// <summary>Whether the VM may receive real frames now: its stream's once answer, else its standing policy.</summary>
    private bool EffectiveAllowed(VmRecord vm) => vm.StreamAnswer switch
    {
        StreamAnswer.AllowOnce => true,
        StreamAnswer.DenyOnce => false,
        _ => _policy.Get(vm.Name).Allowed,
    };

    /// <summary>
    /// Brings the VM's sidecar in line with <see cref="EffectiveAllowed"/>: allowed and streaming, it joins its
    /// camera; otherwise it leaves it first and is then told (no wait for its acknowledgement: callers that answer an
    /// operator use <see cref="EnforceAndReply"/>).
    /// </summary>
    private void Enforce(VmRecord vm, string reason)
    {
        if (ActiveSession(vm) is not { } session)
        {
            return;
        }

        if (EffectiveAllowed(vm))
        {
            if (!session.ToldAllowed)
            {
                TellPermission(session, allowed: true);
            }

            JoinCamera(session);
            return;
        }

        LeaveCamera(session, reason);
        if (session.ToldAllowed)
        {
            TellPermission(session, allowed: false);
        }

        SendDeniedState(session);
    }

    /// <summary>Sends Permission with the next generation; false when the sidecar could not take it (it is closed).</summary>
    private static bool TellPermission(SidecarSession session, bool allowed)
    {
        session.ToldAllowed = allowed;
        session.Vm.Generation++;
        return session.Send(new ServiceMessage { Permission = new Permission { Allowed = allowed, Generation = session.Vm.Generation } });
    }

    /// <summary>Tells a streaming sidecar why it gets black frames (its log and the operator's status say so).</summary>
    private static void SendDeniedState(SidecarSession session)
    {
        if (session.Request is null)
        {
            return;
        }

        var vm = session.Vm;
        var detail = vm.OpenRequest is { } open ? $"waiting for an operator to answer request {open.Id}"
            : vm.StreamAnswer == StreamAnswer.DenyOnce ? "denied for this stream"
            : "no camera permission";
        session.Send(new ServiceMessage { CameraState = new CameraState { State = CameraState.Types.State.Denied, Detail = detail } });
    }

    private static void FoldCounters(VmRecord vm)
    {
        vm.TotalCameraFrames += vm.ReportedCameraFrames;
        vm.TotalBlackFrames += vm.ReportedBlackFrames;
        vm.ReportedCameraFrames = 0;
        vm.ReportedBlackFrames = 0;
    }

    private void AppendAudit(string vm, string action, uint uid, string detail, ulong requestId = 0)
    {
        try
        {
            _audit.Append(new AuditRecord(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), vm, action, uid, detail, requestId));
        }
        catch (IOException e)
        {
            Log.Error("audit", $"cannot append to the audit log in {_options.StateDirectory}: {e.Message}. Check the disk.");
        }
    }

    private void OnHousekeeping()
    {
        _housekeeping.ConsumeExpirations();
        ExpirePendingDenies();
        ExpireRequests();
    }

    /// <summary>"NV12 1280x720 30 fps".</summary>
    internal static string Describe(StreamRequest request) => $"{request.Format} {request.Rate.FramesPerSecond:0.##} fps";

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
