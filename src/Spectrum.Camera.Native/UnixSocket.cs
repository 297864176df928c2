using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;

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

    private readonly FdHandle _handle;

    private UnixSocket(FdHandle handle) => _handle = handle;

    public FdHandle Handle => _handle;

    public int Fd => _handle.Fd;

    /// <summary>Binds and listens on <paramref name="path"/>, replacing a stale socket file left by a dead process.</summary>
    public static UnixSocket Listen(string path, int backlog = 1, UnixSocketKind kind = UnixSocketKind.Stream)
    {
        var addr = MakeAddress(path, out var addrLength);
        var socket = new UnixSocket(FdHandle.FromResult(
            LibC.socket(LibC.AF_UNIX, TypeOf(kind) | LibC.SOCK_CLOEXEC, 0), "socket"));
        try
        {
            if (LibC.bind(socket.Fd, (sockaddr*)&addr, addrLength) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // EADDRINUSE: a socket file exists. If nobody answers on it, it is stale: remove and retry once.
                if (errno == LibC.EADDRINUSE && !IsListening(path, kind))
                {
                    _ = LibC.unlink(addr.sun_path);
                    if (LibC.bind(socket.Fd, (sockaddr*)&addr, addrLength) != 0)
                    {
                        throw NativeException.Last($"bind({path})");
                    }
                }
                else
                {
                    throw new NativeException($"bind({path})", errno);
                }
            }

            if (LibC.listen(socket.Fd, backlog) != 0)
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
        var flags = TypeOf(kind) | LibC.SOCK_CLOEXEC | (nonBlocking ? LibC.SOCK_NONBLOCK : 0);
        var socket = new UnixSocket(FdHandle.FromResult(LibC.socket(LibC.AF_UNIX, flags, 0), "socket"));
        if (LibC.connect(socket.Fd, (sockaddr*)&addr, addrLength) != 0)
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
        if (LibC.socketpair(LibC.AF_UNIX, TypeOf(kind) | LibC.SOCK_CLOEXEC, 0, fds) != 0)
        {
            throw NativeException.Last("socketpair");
        }

        return (new UnixSocket(new FdHandle(fds[0])), new UnixSocket(new FdHandle(fds[1])));
    }

    /// <summary>
    /// Wraps a socket fd received from a peer (a vhost-user backend channel). Takes ownership of
    /// <paramref name="handle"/>; check it is a socket first (<see cref="FdHandle.IsSocket"/>).
    /// </summary>
    public static UnixSocket Adopt(FdHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        return new UnixSocket(handle);
    }

    /// <summary>Accepts one connection (blocking).</summary>
    public UnixSocket Accept() =>
        new(FdHandle.FromResult(LibC.accept4(Fd, null, null, LibC.SOCK_CLOEXEC), "accept4"));

    /// <summary>The peer's pid, uid and gid (SO_PEERCRED).</summary>
    public (int Pid, uint Uid, uint Gid) GetPeerCredentials()
    {
        ucred cred;
        socklen_t length = (uint)sizeof(ucred);
        if (LibC.getsockopt(Fd, LibC.SOL_SOCKET, LibC.SO_PEERCRED, &cred, &length) != 0)
        {
            throw NativeException.Last("getsockopt(SO_PEERCRED)");
        }

        return (cred.pid, cred.uid, cred.gid);
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

        var control = stackalloc byte[ControlCapacity];
        var first = true;
        fixed (byte* p = data)
        {
            var sent = 0;
            do
            {
                var iov = new iovec { iov_base = p + sent, iov_len = data.Length - sent };
                var msg = new msghdr { msg_iov = &iov, msg_iovlen = 1 };
                if (first && fds.Length > 0)
                {
                    AttachFds(&msg, control, fds);
                }

                long n = LibC.sendmsg(Fd, &msg, LibC.MSG_NOSIGNAL);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == LibC.EINTR)
                    {
                        continue;
                    }

                    if (errno == LibC.EAGAIN)
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
    /// Sends <paramref name="data"/> with one non-blocking sendmsg, <paramref name="fds"/> attached, and returns how
    /// many bytes went out, or -1 when the peer's queue is full (EAGAIN) and nothing was sent. On a stream socket a
    /// short message goes out whole or not at all unless the send buffer is nearly full; a caller that needs all of it
    /// treats any other count as a peer it cannot talk to. Throws <see cref="NativeException"/> when the peer is gone.
    /// </summary>
    public int TrySend(ReadOnlySpan<byte> data, ReadOnlySpan<int> fds = default)
    {
        if (fds.Length > MaxFdsPerReceive)
        {
            throw new ArgumentException($"at most {MaxFdsPerReceive} fds per message", nameof(fds));
        }

        var control = stackalloc byte[ControlCapacity];
        fixed (byte* p = data)
        {
            var iov = new iovec { iov_base = p, iov_len = data.Length };
            var msg = new msghdr { msg_iov = &iov, msg_iovlen = 1 };
            if (fds.Length > 0)
            {
                AttachFds(&msg, control, fds);
            }

            while (true)
            {
                long n = LibC.sendmsg(Fd, &msg, LibC.MSG_NOSIGNAL | LibC.MSG_DONTWAIT);
                if (n >= 0)
                {
                    return (int)n;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EINTR)
                {
                    continue;
                }

                return errno == LibC.EAGAIN ? -1 : throw new NativeException("sendmsg", errno);
            }
        }
    }

    /// <summary>
    /// Sends one packet of a <see cref="UnixSocketKind.SeqPacket"/> socket without blocking, <paramref name="fds"/>
    /// attached. Returns false when the peer's receive queue is full (EAGAIN): the caller decides whether to drop the
    /// message (a frame notice) or give up on the peer. Throws <see cref="NativeException"/> when the peer is gone.
    /// </summary>
    public bool TrySendPacket(ReadOnlySpan<byte> data, ReadOnlySpan<int> fds = default) => TrySend(data, fds) >= 0;

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
        var control = stackalloc byte[ControlCapacity];
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var iov = new iovec { iov_base = p, iov_len = buffer.Length };
                var msg = new msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = ControlCapacity };
                var flags = LibC.MSG_CMSG_CLOEXEC | (nonBlocking ? LibC.MSG_DONTWAIT : 0);
                long n = LibC.recvmsg(Fd, &msg, flags);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == LibC.EINTR)
                    {
                        continue;
                    }

                    controlTruncated = false;
                    dataTruncated = false;
                    return errno == LibC.EAGAIN && nonBlocking ? -1 : throw new NativeException("recvmsg", errno);
                }

                CollectFds(control, (int)(uint)msg.msg_controllen, fds);
                controlTruncated = (msg.msg_flags & LibC.MSG_CTRUNC) != 0;
                dataTruncated = (msg.msg_flags & LibC.MSG_TRUNC) != 0;
                return (int)n;
            }
        }
    }

    /// <summary>Shuts down both directions, waking a peer blocked in receive.</summary>
    public void Shutdown() => _ = LibC.shutdown(Fd, LibC.SHUT_RDWR);

    public void Dispose() => _handle.Dispose();

    /// <summary>Room for one SCM_RIGHTS message of <see cref="MaxFdsPerReceive"/> fds.</summary>
    private static int ControlCapacity => LibC.CMSG_SPACE(sizeof(int) * MaxFdsPerReceive);

    /// <summary>
    /// CMSG_LEN for <paramref name="fdCount"/> fds: the aligned header plus the fds, unpadded. Not Tmds.LibC's
    /// CMSG_LEN, which 0.5.0 pads to 8 bytes: for an odd fd count the kernel would then read one fd more, from the
    /// padding.
    /// </summary>
    private static int CmsgLength(int fdCount) => LibC.CMSG_ALIGN(sizeof(cmsghdr)) + (sizeof(int) * fdCount);

    /// <summary>One SCM_RIGHTS control message carrying <paramref name="fds"/>, written into <paramref name="control"/>.</summary>
    private static void AttachFds(msghdr* msg, byte* control, ReadOnlySpan<int> fds)
    {
        var cmsg = (cmsghdr*)control;
        cmsg->cmsg_len = (uint)CmsgLength(fds.Length);
        cmsg->cmsg_level = LibC.SOL_SOCKET;
        cmsg->cmsg_type = LibC.SCM_RIGHTS;
        fds.CopyTo(new Span<int>(LibC.CMSG_DATA(cmsg), fds.Length));
        msg->msg_control = control;
        msg->msg_controllen = (uint)LibC.CMSG_SPACE(sizeof(int) * fds.Length);
    }

    private static void CollectFds(byte* control, int length, List<FdHandle> fds)
    {
        // Walk every cmsg, not only the first: a peer may split fds across several SCM_RIGHTS headers. Each length
        // is clamped to what is left of the buffer, so a bad length can never make the walk read past it.
        var headerSize = LibC.CMSG_ALIGN(sizeof(cmsghdr));
        var offset = 0;
        while (offset + headerSize <= length)
        {
            var cmsg = (cmsghdr*)(control + offset);
            var cmsgLength = (int)Math.Min(cmsg->cmsg_len, (uint)(length - offset));
            if (cmsgLength < headerSize)
            {
                break;
            }

            if (cmsg->cmsg_level == LibC.SOL_SOCKET && cmsg->cmsg_type == LibC.SCM_RIGHTS)
            {
                var count = (cmsgLength - headerSize) / sizeof(int);
                var data = (int*)LibC.CMSG_DATA(cmsg);
                for (var i = 0; i < count; i++)
                {
                    fds.Add(new FdHandle(data[i]));
                }
            }

            offset += LibC.CMSG_ALIGN(cmsgLength);
        }
    }

    private static sockaddr_un MakeAddress(string path, out socklen_t length)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        var capacity = sockaddr_un.sun_path_length;
        if (bytes.Length == 0 || bytes.Length >= capacity)
        {
            throw new ArgumentException(
                $"socket path must be 1..{capacity - 1} bytes, got {bytes.Length}: {path}", nameof(path));
        }

        var addr = new sockaddr_un { sun_family = LibC.AF_UNIX };
        bytes.CopyTo(new Span<byte>(addr.sun_path, capacity));
        length = (uint)(sockaddr_un.sun_path_offset + bytes.Length + 1);
        return addr;
    }

    private static int TypeOf(UnixSocketKind kind) =>
        kind == UnixSocketKind.SeqPacket ? LibC.SOCK_SEQPACKET : LibC.SOCK_STREAM;

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
