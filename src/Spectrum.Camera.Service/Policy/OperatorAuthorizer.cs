using System.Globalization;

namespace Spectrum.Camera.Service.Policy;

/// <summary>
/// Who may use the operator API (checked on the peer's SO_PEERCRED): root, the service's own uid, any
/// <c>--operator-uid</c>, or a peer whose primary gid is <c>--operator-group</c>.
/// </summary>
public sealed class OperatorAuthorizer
{
    private readonly HashSet<uint> _operatorUids;

    public OperatorAuthorizer(uint serviceUid, IReadOnlyCollection<uint> operatorUids, uint? operatorGid)
    {
        ArgumentNullException.ThrowIfNull(operatorUids);
        ServiceUid = serviceUid;
        _operatorUids = [.. operatorUids];
        OperatorGid = operatorGid;
    }

    public uint ServiceUid { get; }

    public IReadOnlyCollection<uint> OperatorUids => _operatorUids;

    public uint? OperatorGid { get; }

    /// <summary>True when the peer is an operator; otherwise <paramref name="reason"/> says why not and what to do.</summary>
    public bool IsOperator(uint uid, uint gid, out string reason)
    {
        if (uid == 0)
        {
            reason = "root";
            return true;
        }

        if (uid == ServiceUid)
        {
            reason = "the camera service's own uid";
            return true;
        }

        if (_operatorUids.Contains(uid))
        {
            reason = "listed with --operator-uid";
            return true;
        }

        if (OperatorGid is { } operatorGid && gid == operatorGid)
        {
            reason = $"primary gid {operatorGid.ToString(CultureInfo.InvariantCulture)} is the --operator-group";
            return true;
        }

        var u = uid.ToString(CultureInfo.InvariantCulture);
        var g = gid.ToString(CultureInfo.InvariantCulture);
        reason = OperatorGid is { } group
            ? $"uid {u} is not an operator (and its primary gid {g} is not the operator group "
                + $"{group.ToString(CultureInfo.InvariantCulture)}): run as root or add --operator-uid {u} / --operator-group"
            : $"uid {u} is not an operator: run as root or add --operator-uid {u} / --operator-group";
        return false;
    }
}
