using System.Text.Json;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Service.Policy;

/// <summary>
/// The per-VM camera permission, kept in STATE_DIR/policy.json (mode 0600). Unknown VMs are denied. A change is on
/// disk before <see cref="Set"/> returns: the new file is written beside the old one, fsync'ed, renamed over it, and
/// the directory fsync'ed, so after a crash the file holds either the old or the new policy, never a mix. A file
/// that cannot be read is an error, never a reason to start afresh (which could re-allow a denied VM or lose denials).
/// Thread-safe.
/// </summary>
public sealed class PolicyStore
{
    public const string FileName = "policy.json";
    public const int CurrentVersion = 1;

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

    /// <summary>
    /// Opens the policy in <paramref name="stateDir"/>, creating the directory (mode 0700) if missing. Throws
    /// <see cref="InvalidDataException"/> when policy.json exists but is not a valid policy file.
    /// </summary>
    public static PolicyStore Open(string stateDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDir);
        CreateStateDirectory(stateDir);
        var path = Path.Combine(stateDir, FileName);
        var vms = File.Exists(path) ? Load(path) : new Dictionary<string, VmPolicy>(StringComparer.Ordinal);
        return new PolicyStore(stateDir, vms);
    }

    /// <summary>Creates <paramref name="stateDir"/> with mode 0700 when it does not exist (an existing one is kept as it is).</summary>
    internal static void CreateStateDirectory(string stateDir)
    {
        if (!Directory.Exists(stateDir))
        {
            Directory.CreateDirectory(stateDir, DirectoryMode);
        }
    }

    /// <summary>The VM's policy; <c>default</c> (denied, never changed) for a VM that has none.</summary>
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

    /// <summary>
    /// Sets the VM's permission, recording <paramref name="uid"/> and <paramref name="now"/>. Returns false (and
    /// writes nothing) when the VM already had this permission (an unknown VM is denied, so denying it is no change);
    /// when true, the change is durable on disk. If the
    /// write fails the in-memory policy is unchanged and the exception propagates.
    /// </summary>
    public bool Set(string vm, bool allowed, uint uid, DateTimeOffset now)
    {
        if (!VmConfig.IsValidName(vm))
        {
            throw new ArgumentException($"invalid VM name '{vm}'", nameof(vm));
        }

        lock (_lock)
        {
            if (_vms.GetValueOrDefault(vm).Allowed == allowed)
            {
                return false;
            }

            var next = new Dictionary<string, VmPolicy>(_vms, StringComparer.Ordinal)
            {
                [vm] = new VmPolicy(allowed, now.ToUnixTimeMilliseconds(), uid),
            };
            Save(next);
            _vms[vm] = next[vm];
            return true;
        }
    }

    private static Dictionary<string, VmPolicy> Load(string path)
    {
        const string fix = "Fix the file (format: {\"version\":1,\"vms\":{\"NAME\":{\"allowed\":false,\"changed_unix_ms\":0,"
            + "\"changed_by_uid\":0}}}) or remove it to deny every VM, then restart the camera service.";
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

        if (file.Version != CurrentVersion)
        {
            throw new InvalidDataException(
                $"{path} has version {file.Version}; this camera service reads version {CurrentVersion}. {fix}");
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

            vms[name] = new VmPolicy(entry.Allowed, entry.ChangedUnixMs, entry.ChangedByUid);
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
                Allowed = policy.Allowed,
                ChangedUnixMs = policy.ChangedUnixMs,
                ChangedByUid = policy.ChangedByUid,
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
