using System.Text.Json;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Service.Policy;

/// <summary>
/// The per-VM camera policy (allow, deny or ask) and camera assignment, kept in STATE_DIR/policy.json (mode 0600).
/// Unknown VMs are denied and fed from the first camera. A change is on disk before <see cref="Set(string,
/// CameraPermission, uint, DateTimeOffset)"/> or <see cref="Assign"/> returns: the new file is written beside the old
/// one, fsync'ed, renamed over it, and the directory fsync'ed, so after a crash the file holds either the old or the
/// new policy, never a mix. A file that cannot be read is an error, never a reason to start afresh (which could
/// re-allow a denied VM or lose denials). A version 1 file (allow/deny only) is rewritten as version 2 on open.
/// Thread-safe.
/// </summary>
public sealed class PolicyStore
{
    public const string FileName = "policy.json";
    public const int CurrentVersion = 2;

    /// <summary>The version written before ask mode and camera assignment (still read, and migrated).</summary>
    public const int AllowDenyVersion = 1;

    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly Dictionary<string, VmPolicy> _vms;
    private readonly Lock _lock = new();

    private PolicyStore(string stateDir, Dictionary<string, VmPolicy> vms)
    {
        StateDir = stateDir;
        _vms = vms;
    }

    public string StateDir { get; }

    /// <summary>STATE_DIR/policy.json.</summary>
    public string FilePath => Path.Combine(StateDir, FileName);

    /// <summary>The version the file had when it was opened and rewritten as the current one, or null.</summary>
    public int? MigratedFromVersion { get; private set; }

    /// <summary>
    /// Opens the policy in <paramref name="stateDir"/>, creating the directory (mode 0700) if missing. Throws
    /// <see cref="InvalidDataException"/> when policy.json exists but is not a valid policy file, and
    /// <see cref="IOException"/> when an old file cannot be rewritten in the current version.
    /// </summary>
    public static PolicyStore Open(string stateDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDir);
        CreateStateDirectory(stateDir);
        var path = Path.Combine(stateDir, FileName);
        if (!File.Exists(path))
        {
            return new PolicyStore(stateDir, new Dictionary<string, VmPolicy>(StringComparer.Ordinal));
        }

        var vms = Load(path, out var version);
        var store = new PolicyStore(stateDir, vms);
        if (version != CurrentVersion)
        {
            store.Save(vms);
            store.MigratedFromVersion = version;
        }

        return store;
    }

    /// <summary>Creates <paramref name="stateDir"/> with mode 0700 when it does not exist (an existing one is kept as it is).</summary>
    internal static void CreateStateDirectory(string stateDir)
    {
        if (!Directory.Exists(stateDir))
        {
            Directory.CreateDirectory(stateDir, DirectoryMode);
        }
    }

    /// <summary>The VM's policy; <c>default</c> (denied, never changed, first camera) for a VM that has none.</summary>
    public VmPolicy Get(string vm)
    {
        lock (_lock)
        {
            return _vms.GetValueOrDefault(vm);
        }
    }

    /// <summary>Every VM with a stored policy, by name.</summary>
    public IReadOnlyDictionary<string, VmPolicy> Snapshot()
    {
        lock (_lock)
        {
            return new SortedDictionary<string, VmPolicy>(_vms, StringComparer.Ordinal);
        }
    }

    /// <summary>Allows (true) or denies (false) the VM: <see cref="Set(string, CameraPermission, uint, DateTimeOffset)"/>.</summary>
    public bool Set(string vm, bool allowed, uint uid, DateTimeOffset now) =>
        Set(vm, allowed ? CameraPermission.Allow : CameraPermission.Deny, uid, now);

    /// <summary>
    /// Sets the VM's permission, recording <paramref name="uid"/> and <paramref name="now"/>. Returns false (and
    /// writes nothing) when the VM already had this permission (an unknown VM is denied, so denying it is no change);
    /// when true, the change is durable on disk. If the write fails the in-memory policy is unchanged and the
    /// exception propagates.
    /// </summary>
    public bool Set(string vm, CameraPermission permission, uint uid, DateTimeOffset now)
    {
        CheckName(vm);
        lock (_lock)
        {
            var current = _vms.GetValueOrDefault(vm);
            if (current.Permission == permission)
            {
                return false;
            }

            Update(vm, current with { Permission = permission, ChangedUnixMs = now.ToUnixTimeMilliseconds(), ChangedByUid = uid });
            return true;
        }
    }

    /// <summary>
    /// Assigns the VM a camera by name (null: the service's first camera). Returns false (and writes nothing) when it
    /// already had it; when true, the change is durable on disk. The permission and its change record stay as they are.
    /// </summary>
    public bool Assign(string vm, string? camera)
    {
        CheckName(vm);
        lock (_lock)
        {
            var current = _vms.GetValueOrDefault(vm);
            if (current.Camera == camera)
            {
                return false;
            }

            Update(vm, current with { Camera = camera });
            return true;
        }
    }

    private static void CheckName(string vm)
    {
        if (!VmConfig.IsValidName(vm))
        {
            throw new ArgumentException($"invalid VM name '{vm}'", nameof(vm));
        }
    }

    // Caller holds _lock.
    private void Update(string vm, VmPolicy policy)
    {
        var next = new Dictionary<string, VmPolicy>(_vms, StringComparer.Ordinal) { [vm] = policy };
        Save(next);
        _vms[vm] = policy;
    }

    private static Dictionary<string, VmPolicy> Load(string path, out int version)
    {
        const string fix = "Fix the file (format: {\"version\":2,\"vms\":{\"NAME\":{\"permission\":\"deny\",\"changed_unix_ms\":0,"
            + "\"changed_by_uid\":0}}}; permission is allow, deny or ask, and an optional \"camera\":\"NAME\" assigns a camera) "
            + "or remove it to deny every VM, then restart the camera service.";
        PolicyFile? file;
        try
        {
            var bytes = File.ReadAllBytes(path);
            file = JsonSerializer.Deserialize(bytes, PolicyJsonContext.Default.PolicyFile);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a valid policy file ({e.Message}). {fix}", e);
        }

        if (file is null)
        {
            throw new InvalidDataException($"{path} is not a valid policy file (it holds null). {fix}");
        }

        version = file.Version;
        if (version is not (CurrentVersion or AllowDenyVersion))
        {
            throw new InvalidDataException(
                $"{path} has version {file.Version}; this camera service reads versions {AllowDenyVersion} and {CurrentVersion}. {fix}");
        }

        var vms = new Dictionary<string, VmPolicy>(StringComparer.Ordinal);
        foreach (var (name, entry) in file.Vms ?? [])
        {
            if (!VmConfig.IsValidName(name))
            {
                throw new InvalidDataException($"{path} names an invalid VM '{name}'. {fix}");
            }

            if (entry is null)
            {
                throw new InvalidDataException($"{path}: the entry of VM '{name}' is null. {fix}");
            }

            CameraPermission permission;
            if (version == AllowDenyVersion)
            {
                permission = entry.Allowed is { } allowed
                    ? (allowed ? CameraPermission.Allow : CameraPermission.Deny)
                    : throw new InvalidDataException($"{path}: VM '{name}' has no \"allowed\" (version 1). {fix}");
            }
            else
            {
                permission = CameraPermissions.Parse(entry.Permission)
                    ?? throw new InvalidDataException(
                        $"{path}: VM '{name}' has permission '{entry.Permission}', not allow, deny or ask. {fix}");
            }

            if (entry.Camera is { } camera && !CameraConfig.IsValidName(camera))
            {
                throw new InvalidDataException($"{path}: VM '{name}' is assigned an invalid camera name '{camera}'. {fix}");
            }

            vms[name] = new VmPolicy(permission, entry.ChangedUnixMs, entry.ChangedByUid, entry.Camera);
        }

        return vms;
    }

    private void Save(Dictionary<string, VmPolicy> vms)
    {
        var file = new PolicyFile { Version = CurrentVersion, Vms = [] };
        foreach (var (name, policy) in vms.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            file.Vms[name] = new PolicyFileEntry
            {
                Permission = policy.Permission.ToWord(),
                ChangedUnixMs = policy.ChangedUnixMs,
                ChangedByUid = policy.ChangedByUid,
                Camera = policy.Camera,
            };
        }

        var path = FilePath;
        var tmp = path + ".tmp";
        // A temp file left by a crash may have any mode; start from a fresh one so UnixCreateMode applies.
        File.Delete(tmp);
        try
        {
            using (var stream = new FileStream(tmp, new FileStreamOptions
            {
                Mode = System.IO.FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                UnixCreateMode = FileMode,
            }))
            {
                using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                {
                    JsonSerializer.Serialize(json, file, PolicyJsonContext.Default.PolicyFile);
                }

                stream.WriteByte((byte)'\n');
                stream.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: true); // rename(2): atomic replacement
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }

        PosixFiles.FSyncDirectory(StateDir);
    }

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
