using Spectrum.Camera.Media.Protocol;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// REQBUFS, CREATE_BUFS, QUERYBUF, PREPARE_BUF, QBUF, STREAMON and STREAMOFF for the single-planar capture queue.
/// Only guest pages (V4L2_MEMORY_USERPTR on the wire) are accepted: there is no shared-memory window for MMAP on QEMU
/// 10.0, and DMABUF (virtio objects) is implemented by no driver; both get EINVAL, and REQBUFS reports
/// SUPPORTS_USERPTR alone so the driver knows what works.
/// </summary>
internal sealed class BufferIoctls(CaptureState state, FrameStreamer streamer)
{
    private const string Component = "virtio-media";

    public IEnumerable<IoctlEntry> Entries =>
    [
        new(V4l2IoctlNumber.ReqBufs, V4l2.RequestBuffersSize, V4l2.RequestBuffersSize, RequestBuffers),
        new(V4l2IoctlNumber.CreateBufs, V4l2.CreateBuffersSize, V4l2.CreateBuffersSize, CreateBuffers),
        new(V4l2IoctlNumber.QueryBuf, V4l2.BufferSize, V4l2.BufferSize, QueryBuffer),
        new(V4l2IoctlNumber.PrepareBuf, V4l2.BufferSize, V4l2.BufferSize, PrepareBuffer),
        new(V4l2IoctlNumber.QBuf, V4l2.BufferSize, V4l2.BufferSize, QueueBuffer),
        new(V4l2IoctlNumber.StreamOn, 4, 0, StreamOn),
        new(V4l2IoctlNumber.StreamOff, 4, 0, StreamOff),
    ];

    private CaptureQueue Queue => state.Queue;

    /// <summary>v4l2_requestbuffers: count +0, type +4, memory +8, capabilities +12, flags u8 +16.</summary>
    private Errno RequestBuffers(ref IoctlContext c)
    {
        var count = Le.U32(c.Input, 0);
        var type = Le.U32(c.Input, 4);
        var memory = Le.U32(c.Input, 8);
        if (type != V4l2.BufTypeVideoCapture || memory != V4l2.MemoryUserPtr)
        {
            return Errno.EINVAL;
        }

        if (Queue.IsOwnedByOther(c.Session.Id))
        {
            return Errno.EBUSY;
        }

        if (Queue.Streaming)
        {
            return Errno.EBUSY;
        }

        Queue.Reallocate(c.Session.Id, count);
        Le.Put(c.Output, 0, Queue.Allocated);
        Le.Put(c.Output, 4, type);
        Le.Put(c.Output, 8, memory);
        Le.Put(c.Output, 12, V4l2.BufCapSupportsUserPtr);
        return Errno.None;
    }

    /// <summary>
    /// v4l2_create_buffers: index +0, count +4, memory +8, format +16 (208), capabilities +224, flags +228,
    /// max_num_buffers +232. Buffers here are only slots: their memory comes with each QBUF.
    /// </summary>
    private Errno CreateBuffers(ref IoctlContext c)
    {
        var count = Le.U32(c.Input, 4);
        var memory = Le.U32(c.Input, 8);
        if (memory != V4l2.MemoryUserPtr || Le.U32(c.Input, 16) != V4l2.BufTypeVideoCapture)
        {
            return Errno.EINVAL;
        }

        if (Queue.IsOwnedByOther(c.Session.Id))
        {
            return Errno.EBUSY;
        }

        var index = Queue.Allocated;
        if (count > 0 && index == V4l2.MaxBuffers)
        {
            return Errno.ENOBUFS;
        }

        var added = count == 0 ? 0 : Queue.Add(c.Session.Id, count);
        Le.Put(c.Output, 0, index);
        Le.Put(c.Output, 4, added);
        Le.Put(c.Output, 8, memory);
        FormatIoctls.WriteFormat(c.Output[16..], state.Format);
        Le.Put(c.Output, 224, V4l2.BufCapSupportsUserPtr);
        Le.Put(c.Output, 232, V4l2.MaxBuffers);
        return Errno.None;
    }

    private Errno QueryBuffer(ref IoctlContext c)
    {
        if (Le.U32(c.Input, 4) != V4l2.BufTypeVideoCapture || !Queue.TryGetBuffer(Le.U32(c.Input, 0), out var buffer))
        {
            return Errno.EINVAL;
        }

        WriteBuffer(c.Output, buffer);
        return Errno.None;
    }

    private Errno PrepareBuffer(ref IoctlContext c) => TakeGuestBuffer(ref c, queue: false);

    private Errno QueueBuffer(ref IoctlContext c) => TakeGuestBuffer(ref c, queue: true);

    /// <summary>
    /// v4l2_buffer: index +0, type +4, flags +12, memory +60, m.userptr +64, length +72, request_fd +80; then the SG
    /// list. Validated in full before the buffer changes state.
    /// </summary>
    private Errno TakeGuestBuffer(ref IoctlContext c, bool queue)
    {
        var index = Le.U32(c.Input, 0);
        var type = Le.U32(c.Input, 4);
        var flags = Le.U32(c.Input, 12);
        var memory = Le.U32(c.Input, 60);
        var userPtr = Le.U64(c.Input, 64);
        var length = Le.U32(c.Input, 72);
        if (type != V4l2.BufTypeVideoCapture || memory != V4l2.MemoryUserPtr || (flags & RequestFdFlag) != 0)
        {
            return Errno.EINVAL;
        }

        if (Queue.IsOwnedByOther(c.Session.Id))
        {
            return Errno.EBUSY;
        }

        // vb2: a queued buffer is neither queued nor prepared again, and a prepared one is not prepared twice.
        if (!Queue.TryGetBuffer(index, out var buffer) || buffer.State == CaptureBufferState.Queued ||
            (!queue && buffer.State == CaptureBufferState.Prepared))
        {
            return Errno.EINVAL;
        }

        if (userPtr == 0 || length < state.Format.SizeImage)
        {
            return Errno.EINVAL;
        }

        var errno = GuestSgList.TryParse(c.Input[V4l2.BufferSize..], length, c.Memory, c.Chain, buffer, out var problem);
        if (errno != Errno.None)
        {
            Log.GuestFault(Component, "bad-sg-list", $"session {c.Session.Id} buffer {index}: {problem}");
            return errno;
        }

        buffer.UserPtr = userPtr;
        if (queue)
        {
            Queue.Enqueue(buffer);
        }
        else
        {
            buffer.State = CaptureBufferState.Prepared;
        }

        WriteBuffer(c.Output, buffer);
        return Errno.None;
    }

    private Errno StreamOn(ref IoctlContext c)
    {
        if (Le.U32(c.Input, 0) != V4l2.BufTypeVideoCapture)
        {
            return Errno.EINVAL;
        }

        if (Queue.IsOwnedByOther(c.Session.Id))
        {
            return Errno.EBUSY;
        }

        if (Queue.Allocated == 0)
        {
            return Errno.EINVAL;
        }

        if (!Queue.Streaming)
        {
            Queue.Streaming = true;
            streamer.Start();
        }

        return Errno.None;
    }

    private Errno StreamOff(ref IoctlContext c)
    {
        if (Le.U32(c.Input, 0) != V4l2.BufTypeVideoCapture)
        {
            return Errno.EINVAL;
        }

        if (Queue.IsOwnedByOther(c.Session.Id))
        {
            return Errno.EBUSY;
        }

        StopStreaming();
        return Errno.None;
    }

    /// <summary>STREAMOFF semantics, also used when the owner closes: stop frames, return every buffer.</summary>
    public void StopStreaming()
    {
        if (Queue.Streaming)
        {
            Queue.Streaming = false;
            streamer.Stop();
        }

        Queue.ReturnAll();
    }

    private const uint RequestFdFlag = 0x00800000;

    /// <summary>The v4l2_buffer the driver sees for <paramref name="b"/>; pointer-like fields echo the guest's own values.</summary>
    private void WriteBuffer(Span<byte> o, CaptureBuffer b)
    {
        Le.Put(o, 0, b.Index);
        Le.Put(o, 4, V4l2.BufTypeVideoCapture);
        var stateFlag = b.State switch
        {
            CaptureBufferState.Queued => V4l2.BufFlagQueued,
            CaptureBufferState.Prepared => V4l2.BufFlagPrepared,
            _ => 0u,
        };
        Le.Put(o, 12, stateFlag | V4l2.BufFlagTimestampMonotonic);
        Le.Put(o, 16, V4l2.FieldNone);
        Le.Put(o, 60, V4l2.MemoryUserPtr);
        Le.Put64(o, 64, b.UserPtr);
        Le.Put(o, 72, b.Length == 0 ? state.Format.SizeImage : b.Length);
    }
}
