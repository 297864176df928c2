using System.Diagnostics;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// A peer in another process: connects to one of the service's sockets with a few lines of Python, as root or as
/// uid 65534 (setpriv), optionally sends a Hello for a VM (hand-encoded protobuf: the sidecar's Hello and the
/// producer's ProducerHello share their field numbers), and returns what the service answered as text.
/// </summary>
internal static class ForeignPeer
{
    public static string AsRoot(string socket, string helloVm) => Run(socket, helloVm, asNobody: false);

    public static string AsNobody(string socket, string? helloVm) => Run(socket, helloVm, asNobody: true);

    private static string Run(string socket, string? helloVm, bool asNobody)
    {
        var hello = helloVm is null ? "b''" : $"bytes([0x0a, {4 + helloVm.Length}, 0x08, 0x01, 0x12, {helloVm.Length}]) + b'{helloVm}'";
        var script = $"""
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect('{socket}')
            # A refusal at accept comes unasked: read it before saying anything, so our Hello cannot race its close.
            s.settimeout(1)
            try:
                answer = s.recv(4096)
            except socket.timeout:
                s.settimeout(5)
                h = {hello}
                if h: s.send(h)
                answer = s.recv(4096)
            sys.stdout.write(answer.decode('utf-8', 'replace'))
            """;
        var info = new ProcessStartInfo(asNobody ? "setpriv" : "/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (asNobody)
        {
            info.ArgumentList.Add("--reuid=65534");
            info.ArgumentList.Add("--regid=65534");
            info.ArgumentList.Add("--clear-groups");
            info.ArgumentList.Add("/usr/bin/python3"); // Debian's, reachable by any uid (tools/install-deps.sh installs it).
        }

        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);

        using var p = Process.Start(info)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        Assert.That(p.WaitForExit(10_000), Is.True);
        return output;
    }
}
