using System.Diagnostics.CodeAnalysis;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// Open sessions with a hard limit (a hostile guest can open without bound otherwise). Ids are never reused while
/// open (virtio-media spec) and come from a counter that skips ids still in use.
/// </summary>
internal sealed class SessionTable
{
    private readonly Dictionary<uint, MediaSession> _sessions = [];
    private uint _nextId = 1;

    public SessionTable(int limit) => Limit = limit;

    public int Limit { get; }

    public int Count => _sessions.Count;

    public IEnumerable<MediaSession> All => _sessions.Values;

    public bool TryOpen([NotNullWhen(true)] out MediaSession? session)
    {
        session = null;
        if (_sessions.Count >= Limit)
        {
            return false;
        }

        while (_sessions.ContainsKey(_nextId))
        {
            _nextId++;
        }

        session = new MediaSession(_nextId++);
        _sessions.Add(session.Id, session);
        return true;
    }

    public bool TryGet(uint id, [NotNullWhen(true)] out MediaSession? session) => _sessions.TryGetValue(id, out session);

    public bool Remove(uint id) => _sessions.Remove(id);

    public void Clear() => _sessions.Clear();
}
