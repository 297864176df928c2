using Spectrum.Camera.Cli.Ctl;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Service;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Service.Policy;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// A real camera service (by default one test-pattern camera) on its own loop thread, with its sockets and state in a
/// temp directory, and an operator connection for the test. <see cref="Restart"/> keeps the state directory.
/// </summary>
internal sealed class ServiceFixture : IDisposable
{
    private readonly IReadOnlyList<VmConfig> _vms;
    private readonly Func<EventLoop, CameraConfig, ICameraFeed> _feeds;
    private Thread? _thread;
    private OperatorClient? _operator;

    public ServiceFixture(params string[] vms)
        : this(["test-pattern"], TimeSpan.FromSeconds(30), vms)
    {
    }

    /// <param name="cameras">--camera values (NAME=SPEC or SPEC).</param>
    /// <param name="askTimeout">How long requests of VMs in ask mode wait.</param>
    /// <param name="vms">--vm values.</param>
    public ServiceFixture(string[] cameras, TimeSpan askTimeout, params string[] vms)
        : this(cameras, askTimeout, (loop, camera) => CameraFeeds.Create(loop, camera.Spec), vms)
    {
    }

    /// <param name="cameras">--camera values (NAME=SPEC or SPEC).</param>
    /// <param name="askTimeout">How long requests of VMs in ask mode wait.</param>
    /// <param name="feeds">Makes each camera's feed on the service's loop.</param>
    /// <param name="vms">--vm values.</param>
    public ServiceFixture(string[] cameras, TimeSpan askTimeout, Func<EventLoop, CameraConfig, ICameraFeed> feeds, params string[] vms)
    {
        _feeds = feeds;
        Directory = System.IO.Directory.CreateTempSubdirectory("spectrum-service-").FullName;
        // Others (the unprivileged peers some tests run) must be able to reach the sockets inside.
        File.SetUnixFileMode(Directory, (UnixFileMode)0x1ED); // 0755
        _vms = vms.Select(v => VmConfig.Parse(v, PosixFiles.EffectiveUid)).ToArray();
        Options = new CameraServiceOptions(
            Path.Combine(Directory, "run"), Path.Combine(Directory, "state"), cameras.Select(CameraConfig.Parse).ToArray(), _vms, [], null)
        {
            AskTimeout = askTimeout,
        };
        Service = StartService();
    }

    public string Directory { get; }

    public CameraServiceOptions Options { get; }

    public CameraService Service { get; private set; }

    public string VmSocket(string vm) => Options.VmSocketPath(vm);

    /// <summary>The test's operator connection (opened on first use, again after a restart).</summary>
    public OperatorClient Operator => _operator ??= OperatorClient.Connect(Options.OperatorSocketPath);

    /// <summary>Sets a VM's permission through the operator API; returns once the service says it is effective.</summary>
    public PermissionSet SetPermission(string vm, bool allowed) =>
        Operator.Call(new OperatorRequest { SetPermission = new SetPermission { Vm = vm, Allowed = allowed } },
            OperatorResponse.KindOneofCase.PermissionSet).PermissionSet;

    public VmStatus Status(string vm) =>
        Operator.Call(new OperatorRequest { GetStatus = new GetStatus { Vm = vm } }, OperatorResponse.KindOneofCase.StatusList).StatusList.Vms.Single();

    public AuditChunk Audit(string vm) =>
        Operator.Call(new OperatorRequest { ReadAudit = new ReadAudit { Vm = vm } }, OperatorResponse.KindOneofCase.AuditChunk).AuditChunk;

    /// <summary>Sets a VM's policy (allow, deny, ask); returns once the service says it is effective.</summary>
    public PermissionSet SetPolicy(string vm, Protocol.Operator.Policy policy) =>
        Operator.Call(new OperatorRequest { SetPermission = new SetPermission { Vm = vm, Policy = policy } },
            OperatorResponse.KindOneofCase.PermissionSet).PermissionSet;

    /// <summary>Answers a request (0: the VM's current stream); returns once the service says it is effective.</summary>
    public RequestAnswered Answer(string vm, ulong requestId, Answer answer) =>
        Operator.Call(new OperatorRequest { AnswerRequest = new AnswerRequest { Vm = vm, RequestId = requestId, Answer = answer } },
            OperatorResponse.KindOneofCase.RequestAnswered).RequestAnswered;

    /// <summary>Waits (up to 10 s) for an open request with an id above <paramref name="after"/>.</summary>
    public CameraRequest WaitForRequest(ulong after)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (Requests().FirstOrDefault(r => r.Id > after) is { } request)
            {
                return request;
            }

            Thread.Sleep(20);
        }

        throw new TimeoutException($"no request after {after} within 10 s");
    }

    public IReadOnlyList<CameraRequest> Requests() =>
        Operator.Call(new OperatorRequest { ListRequests = new ListRequests() }, OperatorResponse.KindOneofCase.RequestList).RequestList.Requests;

    public CameraAssigned Assign(string vm, string camera) =>
        Operator.Call(new OperatorRequest { AssignCamera = new AssignCamera { Vm = vm, Camera = camera } },
            OperatorResponse.KindOneofCase.CameraAssigned).CameraAssigned;

    public IReadOnlyList<CameraInfo> Cameras() =>
        Operator.Call(new OperatorRequest { ListCameras = new ListCameras() }, OperatorResponse.KindOneofCase.CameraList).CameraList.Cameras;

    /// <summary>Stops the service (like a crash would, without a goodbye to anyone) and starts a new one on the same state.</summary>
    public void Restart()
    {
        StopService();
        Service = StartService();
    }

    public void Dispose()
    {
        StopService();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private CameraService StartService()
    {
        var service = new CameraService(Options, _feeds);
        service.Start();
        _thread = new Thread(service.Run) { IsBackground = true, Name = "camera-service-loop" };
        _thread.Start();
        return service;
    }

    private void StopService()
    {
        _operator?.Dispose();
        _operator = null;
        Service.RequestStop();
        _thread?.Join(TimeSpan.FromSeconds(10));
        Service.Dispose();
    }
}
