using System.Text.Json;

namespace Spectrum.Camera.Service.Policy;

/// <summary>
/// STATE_DIR/audit.log (mode 0600): one JSON object per line, appended and fsync'ed before <see cref="Append"/>
/// returns. Readers (<see cref="Read(string?, int)"/>, or anyone tailing the file) only ever consume whole lines: each
/// record goes out in one write ending in '\n', and a last line without one (a write torn by a crash) is skipped.
/// On open, such a torn tail is terminated with '\n' so the next record starts on a line of its own. Thread-safe.
/// </summary>
public sealed class AuditLog : IDisposable
{
    public const string FileName = "audit.log";

    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const int ReadChunkBytes = 64 * 1024;

    private readonly FileStream _stream;
    private readonly Lock _lock = new();
    private bool _disposed;

    private AuditLog(string path, FileStream stream)
    {
        FilePath = path;
        _stream = stream;
    }

    /// <summary>STATE_DIR/audit.log.</summary>
    public string FilePath { get; }

    /// <summary>Opens (or creates, mode 0600) STATE_DIR/audit.log for appending; creates the directory (0700) if missing.</summary>
    public static AuditLog Open(string stateDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDir);
        PolicyStore.CreateStateDirectory(stateDir);
        var path = Path.Combine(stateDir, FileName);
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = System.IO.FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite,
            UnixCreateMode = FileMode,
        });
        try
        {
            // An existing file keeps its mode when opened; the audit log is for the service (and root) only.
            File.SetUnixFileMode(stream.SafeFileHandle, FileMode);
            var length = stream.Length;
            if (length > 0)
            {
                stream.Position = length - 1;
                if (stream.ReadByte() != '\n')
                {
                    stream.Position = length;
                    stream.WriteByte((byte)'\n');
                    stream.Flush(flushToDisk: true);
                }
            }

            stream.Position = stream.Length;
            return new AuditLog(path, stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Appends <paramref name="record"/> as one JSON line and fsyncs it: when this returns, it is on disk.</summary>
    public void Append(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var json = JsonSerializer.SerializeToUtf8Bytes(record, PolicyJsonContext.Default.AuditRecord);
        var line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Position = _stream.Length;
            _stream.Write(line);
            _stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>
    /// The newest <paramref name="limit"/> records (0 = all) of <paramref name="vm"/> (null or empty = every VM),
    /// oldest first. Lines that do not parse are skipped.
    /// </summary>
    public IReadOnlyList<AuditRecord> Read(string? vm, int limit) => Read(vm, limit, out _);

    /// <summary>As <see cref="Read(string?, int)"/>; <paramref name="skippedLines"/> counts the lines that did not
    /// parse (a torn last line, left by a crash in the middle of a write, is not counted).</summary>
    public IReadOnlyList<AuditRecord> Read(string? vm, int limit, out int skippedLines) => ReadFile(FilePath, vm, limit, out skippedLines);

    /// <summary>Reads an audit log file without opening it for writing (for tools and tests).</summary>
    public static IReadOnlyList<AuditRecord> ReadFile(string path, string? vm, int limit, out int skippedLines)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var filter = string.IsNullOrEmpty(vm) ? null : vm;
        var kept = new Queue<AuditRecord>();
        var skipped = 0;
        using (var stream = new FileStream(path, System.IO.FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            // Split on '\n' ourselves: the line reader of StreamReader cannot tell a torn last line from a whole one.
            var buffer = new byte[ReadChunkBytes];
            var filled = 0;
            while (true)
            {
                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                var n = stream.Read(buffer, filled, buffer.Length - filled);
                if (n == 0)
                {
                    break; // what is left in buffer[..filled] has no '\n': a torn (or still being written) line
                }

                filled += n;
                var start = 0;
                int newline;
                while ((newline = Array.IndexOf(buffer, (byte)'\n', start, filled - start)) >= 0)
                {
                    var line = buffer.AsSpan(start, newline - start);
                    start = newline + 1;
                    if (line.Trim((byte)' ').IsEmpty)
                    {
                        continue;
                    }

                    var record = Parse(line);
                    if (record is null)
                    {
                        skipped++;
                    }
                    else if (filter is null || record.Vm == filter)
                    {
                        kept.Enqueue(record);
                        if (limit > 0 && kept.Count > limit)
                        {
                            kept.Dequeue();
                        }
                    }
                }

                buffer.AsSpan(start, filled - start).CopyTo(buffer);
                filled -= start;
            }
        }

        skippedLines = skipped;
        return [.. kept];
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stream.Dispose();
        }
    }

    private static AuditRecord? Parse(ReadOnlySpan<byte> line)
    {
        try
        {
            return JsonSerializer.Deserialize(line, PolicyJsonContext.Default.AuditRecord);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
