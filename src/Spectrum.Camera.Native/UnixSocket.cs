using System.Runtime.InteropServices;
using System.Text;

namespace Spectrum.Camera.Native;

/// <summary>The AF_UNIX socket types the project uses.</summary>
public enum UnixSocketKind
{
    /// <summary>SOCK_STREAM: vhost-user (QEMU's chardev).</summary>
    Stream,

    /// <summary>SOCK_SEQPACKET: the camera service protocols, one message per packet.</summary>
    SeqPacket,
}

/// <summary>
/// An AF_UNIX stream or seqpacket socket with SCM_RIGHTS fd passing (System.Net.Sockets has no API for it).
/// All fd passing lives in this file. Received fds are always wrapped in <see cref="FdHandle"/> at once, close-on-exec,
/// so none can leak even when the message that carried them is rejected.
/// </summary>
public sealed unsafe class UnixSocket : IDisposable
{
    /// <summary>Most fds accepted on one receive. QEMU sends at most 8 (SET_MEM_TABLE); room for 32 lets us see and
    /// close excess fds instead of the kernel truncating the control message.</summary>
    public const int MaxFdsPerReceive = 32;

    private const int CmsgHeaderSize = 16;
    private readonly FdHandle _handle;

    private UnixSocket(FdHandle handle) => _handle = handle;

    public FdHandle Handle => _handle;

    public int Fd => _handle.Fd;

    /// <summary>Binds and listens on <paramref name="path"/>, replacing a stale socket file left by a dead process.</summary>
    public static UnixSocket Listen(string path, int backlog = 1, UnixSocketKind kind = UnixSocketKind.Stream)
    {
        var addr = MakeAddress(path, out var addrLength);
        var socket = new UnixSocket(FdHandle.FromResult(
            Libc.Socket(LinuxConstants.AF_UNIX, TypeOf(kind) | LinuxConstants.SOCK_CLOEXEC, 0), "socket"));
        try
        {
            if (Libc.Bind(socket.Fd, &addr, addrLength) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // EADDRINUSE: a socket file exists. If nobody answers on it, it is stale: remove and retry once.
                if (errno == LinuxConstants.EADDRINUSE && !IsListening(path, kind))
                {
                    _ = Libc.Unlink(path);
                    if (Libc.Bind(socket.Fd, &addr, addrLength) != 0)
                    {
                        throw NativeException.Last($"bind({path})");
                    }
                }
                else
                {
                    throw new NativeException($"bind({path})", errno);
                }
            }

            if (Libc.Listen(socket.Fd, backlog) != 0)
            {
                throw NativeException.Last("listen");
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Connects to a listening socket at <paramref name="path"/>. With <paramref name="nonBlocking"/> the socket is
    /// O_NONBLOCK, so a listener whose backlog is full (a hung peer) fails the connect with EAGAIN instead of blocking.
    /// </summary>
    public static UnixSocket Connect(string path, UnixSocketKind kind = UnixSocketKind.Stream, bool nonBlocking = false)
    {
        var addr = MakeAddress(path, out var addrLength);
        var flags = TypeOf(kind) | LinuxConstants.SOCK_CLOEXEC | (nonBlocking ? LinuxConstants.SOCK_NONBLOCK : 0);
        var socket = new UnixSocket(FdHandle.FromResult(Libc.Socket(LinuxConstants.AF_UNIX, flags, 0), "socket"));
        if (Libc.Connect(socket.Fd, &addr, addrLength) != 0)
        {
            var e = NativeException.Last($"connect({path})");
            socket.Dispose();
            throw e;
        }

        return socket;
    }

    /// <summary>A connected pair (socketpair), used by tests and in-process links.</summary>
    public static (UnixSocket, UnixSocket) CreatePair(UnixSocketKind kind = UnixSocketKind.Stream)
    {
        var fds = stackalloc int[2];
        if (Libc.SocketPair(LinuxConstants.AF_UNIX, TypeOf(kind) | LinuxConstants.SOCK_CLOEXEC, 0, fds) != 0)
        {
            throw NativeException.Last("socketpair");
        }

        return (new UnixSocket(new FdHandle(fds[0])), new UnixSocket(new FdHandle(fds[1])));
    }

    /// <summary>Accepts one connection (blocking).</summary>
    public UnixSocket Accept() =>
        new(FdHandle.FromResult(Libc.Accept4(Fd, null, null, LinuxConstants.SOCK_CLOEXEC), "accept4"));

    /// <summary>The peer's pid, uid and gid (SO_PEERCRED).</summary>
    public (int Pid, uint Uid, uint Gid) GetPeerCredentials()
    {
        var cred = stackalloc int[3];
        uint len = 12;
        if (Libc.GetSockOpt(Fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_PEERCRED, cred, &len) != 0)
        {
            throw NativeException.Last("getsockopt(SO_PEERCRED)");
        }

        return (cred[0], (uint)cred[1], (uint)cred[2]);
    }

    /// <summary>
    /// Sends all of <paramref name="data"/>, attaching <paramref name="fds"/> to the first bytes (as QEMU does).
    /// Blocks until sent. Throws <see cref="NativeException"/> (EPIPE, ECONNRESET...) when the peer is gone.
    /// </summary>
    public void Send(ReadOnlySpan<byte> data, ReadOnlySpan<int> fds = default)
    {
        if (fds.Length > MaxFdsPerReceive)
        {
            throw new ArgumentException($"at most {MaxFdsPerReceive} fds per message", nameof(fds));
        }

        var control = stackalloc byte[CmsgSpace(MaxFdsPerReceive)];
        var first = true;
        fixed (byte* p = data)
        {
            var sent = 0;
            do
            {
                var iov = new IoVec { Base = p + sent, Length = (nuint)(data.Length - sent) };
                var msg = new MsgHdr { Iov = &iov, IovLength = 1 };
                if (first && fds.Length > 0)
                {
                    var cmsg = (CmsgHdr*)control;
                    cmsg->Length = (nuint)(CmsgHeaderSize + (4 * fds.Length));
                    cmsg->Level = LinuxConstants.SOL_SOCKET;
                    cmsg->Type = LinuxConstants.SCM_RIGHTS;
                    fds.CopyTo(new Span<int>(control + CmsgHeaderSize, fds.Length));
                    msg.Control = control;
                    msg.ControlLength = (nuint)CmsgSpace(fds.Length);
                }

                var n = Libc.SendMsg(Fd, &msg, LinuxConstants.MSG_NOSIGNAL);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == LinuxConstants.EINTR)
                    {
                        continue;
                    }

                    if (errno == LinuxConstants.EAGAIN)
                    {
                        Thread.Sleep(1);
                        continue;
                    }

                    throw new NativeException("sendmsg", errno);
                }

                first = false;
                sent += (int)n;
            }
            while (sent < data.Length);
        }
    }

    /// <summary>
    /// Sends one packet of a <see cref="UnixSocketKind.SeqPacket"/> socket without blocking, <paramref name="fds"/>
    /// attached. Returns false when the peer's receive queue is full (EAGAIN): the caller decides whether to drop the
    /// message (a frame notice) or give up on the peer. Throws <see cref="NativeException"/> when the peer is gone.
    /// </summary>
    public bool TrySendPacket(ReadOnlySpan<byte> data, ReadOnlySpan<int> fds = default)
    {
        if (fds.Length > MaxFdsPerReceive)
        {
            throw new ArgumentException($"at most {MaxFdsPerReceive} fds per message", nameof(fds));
        }

        var control = stackalloc byte[CmsgSpace(MaxFdsPerReceive)];
        fixed (byte* p = data)
        {
            var iov = new IoVec { Base = p, Length = (nuint)data.Length };
            var msg = new MsgHdr { Iov = &iov, IovLength = 1 };
            if (fds.Length > 0)
            {
                var cmsg = (CmsgHdr*)control;
                cmsg->Length = (nuint)(CmsgHeaderSize + (4 * fds.Length));
                cmsg->Level = LinuxConstants.SOL_SOCKET;
                cmsg->Type = LinuxConstants.SCM_RIGHTS;
                fds.CopyTo(new Span<int>(control + CmsgHeaderSize, fds.Length));
                msg.Control = control;
                msg.ControlLength = (nuint)CmsgSpace(fds.Length);
            }

            while (true)
            {
                var n = Libc.SendMsg(Fd, &msg, LinuxConstants.MSG_NOSIGNAL | LinuxConstants.MSG_DONTWAIT);
                if (n >= 0)
                {
                    return true;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == LinuxConstants.EINTR)
                {
                    continue;
                }

                return errno == LinuxConstants.EAGAIN ? false : throw new NativeException("sendmsg", errno);
            }
        }
    }

    /// <summary>
    /// Receives one packet of a <see cref="UnixSocketKind.SeqPacket"/> socket without blocking. Returns its length,
    /// 0 at end of stream, or -1 when none is queued. Fds that arrive are appended to <paramref name="fds"/>.
    /// <paramref name="truncated"/> is set when the packet was longer than <paramref name="buffer"/> (MSG_TRUNC) or
    /// carried more fds than <see cref="MaxFdsPerReceive"/> (MSG_CTRUNC): both are protocol errors for callers.
    /// </summary>
    public int ReceivePacket(Span<byte> buffer, List<FdHandle> fds, out bool truncated)
    {
        var n = Receive(buffer, fds, nonBlocking: true, out var controlTruncated, out var dataTruncated);
        truncated = controlTruncated || dataTruncated;
        return n;
    }

    /// <summary>
    /// Receives up to <paramref name="buffer"/>.Length bytes. Every fd that arrives is appended to
    /// <paramref name="fds"/>. Returns the byte count, 0 at end of stream, or -1 when <paramref name="nonBlocking"/>
    /// and nothing is available. <paramref name="controlTruncated"/> reports MSG_CTRUNC (more fds than we accept),
    /// which callers treat as a protocol error.
    /// </summary>
    public int Receive(Span<byte> buffer, List<FdHandle> fds, bool nonBlocking, out bool controlTruncated) =>
        Receive(buffer, fds, nonBlocking, out controlTruncated, out _);

    private int Receive(Span<byte> buffer, List<FdHandle> fds, bool nonBlocking, out bool controlTruncated, out bool dataTruncated)
    {
        ArgumentNullException.ThrowIfNull(fds);
        var controlSize = CmsgSpace(MaxFdsPerReceive);
        var control = stackalloc byte[controlSize];
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var iov = new IoVec { Base = p, Length = (nuint)buffer.Length };
                var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)controlSize };
                var flags = LinuxConstants.MSG_CMSG_CLOEXEC | (nonBlocking ? LinuxConstants.MSG_DONTWAIT : 0);
                var n = Libc.RecvMsg(Fd, &msg, flags);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == LinuxConstants.EINTR)
                    {
                        continue;
                    }

                    controlTruncated = false;
                    dataTruncated = false;
                    return errno == LinuxConstants.EAGAIN && nonBlocking ? -1 : throw new NativeException("recvmsg", errno);
                }

                CollectFds(control, (int)msg.ControlLength, fds);
                controlTruncated = (msg.Flags & LinuxConstants.MSG_CTRUNC) != 0;
                dataTruncated = (msg.Flags & LinuxConstants.MSG_TRUNC) != 0;
                return (int)n;
            }
        }
    }

    /// <summary>Shuts down both directions, waking a peer blocked in receive.</summary>
    public void Shutdown() => _ = Libc.Shutdown(Fd, LinuxConstants.SHUT_RDWR);

    public void Dispose() => _handle.Dispose();

    private static void CollectFds(byte* control, int length, List<FdHandle> fds)
    {
        // Walk every cmsg, not only the first: a peer may split fds across several SCM_RIGHTS headers.
        var offset = 0;
        while (offset + CmsgHeaderSize <= length)
        {
            var cmsg = (CmsgHdr*)(control + offset);
            var cmsgLength = (int)Math.Min(cmsg->Length, (nuint)(length - offset));
            if (cmsgLength < CmsgHeaderSize)
            {
                break;
            }

            if (cmsg->Level == LinuxConstants.SOL_SOCKET && cmsg->Type == LinuxConstants.SCM_RIGHTS)
            {
                var count = (cmsgLength - CmsgHeaderSize) / 4;
                var data = (int*)(control + offset + CmsgHeaderSize);
                for (var i = 0; i < count; i++)
                {
                    fds.Add(new FdHandle(data[i]));
                }
            }

            offset += Align8(cmsgLength);
        }
    }

    private static int Align8(int n) => (n + 7) & ~7;

    private static int CmsgSpace(int fdCount) => CmsgHeaderSize + Align8(4 * fdCount);

    private static SockAddrUn MakeAddress(string path, out uint length)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length == 0 || bytes.Length >= SockAddrUn.PathCapacity)
        {
            throw new ArgumentException(
                $"socket path must be 1..{SockAddrUn.PathCapacity - 1} bytes, got {bytes.Length}: {path}", nameof(path));
        }

        var addr = new SockAddrUn { Family = LinuxConstants.AF_UNIX };
        bytes.CopyTo(new Span<byte>(addr.Path, SockAddrUn.PathCapacity));
        length = (uint)(2 + bytes.Length + 1);
        return addr;
    }

    private static int TypeOf(UnixSocketKind kind) =>
        kind == UnixSocketKind.SeqPacket ? LinuxConstants.SOCK_SEQPACKET : LinuxConstants.SOCK_STREAM;

    private static bool IsListening(string path, UnixSocketKind kind)
    {
        try
        {
            using var probe = Connect(path, kind);
            return true;
        }
        catch (NativeException)
        {
            return false;
        }
    }
}
