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

    private CaptureQueue Queue => state.Queue;

    public Errno RequestBuffers(in IoctlCall call, in V4l2RequestBuffers request, out V4l2RequestBuffers answer)
    {
        answer = default;
        if (request.Type != V4l2.BufTypeVideoCapture || request.Memory != V4l2.MemoryUserPtr)
        {
            return Errno.EINVAL;
        }

        if (Queue.IsOwnedByOther(call.Session.Id) || Queue.Streaming)
        {
            return Errno.EBUSY;
        }

        Queue.Reallocate(call.Session.Id, request.Count, state.Format.SizeImage);
        answer = new V4l2RequestBuffers
        {
            Count = Queue.Allocated,
            Type = request.Type,
            Memory = request.Memory,
            Capabilities = V4l2.BufCapSupportsUserPtr,
        };
        return Errno.None;
    }

    /// <summary>
    /// Buffers here are only slots: their memory comes with each QBUF, which must then be at least the sizeimage of
    /// the format CREATE_BUFS was given. As vb2 does: a count of 0 only reports; otherwise a sizeimage of 0 is EINVAL,
    /// a full queue ENOBUFS, and a sizeimage smaller than the current format needs (or larger than any buffer QBUF
    /// takes) EINVAL.
    /// </summary>
    public Errno CreateBuffers(in IoctlCall call, in V4l2CreateBuffers request, out V4l2CreateBuffers answer)
    {
        answer = default;
        if (request.Memory != V4l2.MemoryUserPtr || request.Format.Type != V4l2.BufTypeVideoCapture)
        {
            return Errno.EINVAL;
        }

        if (Queue.IsOwnedByOther(call.Session.Id))
        {
            return Errno.EBUSY;
        }

        var index = Queue.Allocated;
        var size = request.Format.Pix.SizeImage;
        if (request.Count == 0)
        {
            size = state.Format.SizeImage;
        }
        else if (size == 0)
        {
            return Errno.EINVAL;
        }
        else if (index == CaptureQueue.MaxBuffers)
        {
            return Errno.ENOBUFS;
        }
        else if (size < state.Format.SizeImage || size > GuestSgList.MaxBufferLength)
        {
            return Errno.EINVAL;
        }

        var added = request.Count == 0 ? 0 : Queue.Add(call.Session.Id, request.Count, size);
        var format = FormatIoctls.Describe(state.Format);
        format.Pix.SizeImage = size;
        answer = new V4l2CreateBuffers
        {
            Index = index,
            Count = added,
            Memory = request.Memory,
            Format = format,
            Capabilities = V4l2.BufCapSupportsUserPtr,
            MaxNumBuffers = CaptureQueue.MaxBuffers,
        };
        return Errno.None;
    }

    public Errno QueryBuffer(in V4l2Buffer request, out V4l2Buffer answer)
    {
        answer = default;
        if (request.Type != V4l2.BufTypeVideoCapture || !Queue.TryGetBuffer(request.Index, out var buffer))
        {
            return Errno.EINVAL;
        }

        answer = Describe(buffer);
        return Errno.None;
    }

    public Errno PrepareBuffer(in IoctlCall call, in V4l2Buffer request, out V4l2Buffer answer) =>
        TakeGuestBuffer(call, request, queue: false, out answer);

    public Errno QueueBuffer(in IoctlCall call, in V4l2Buffer request, out V4l2Buffer answer) =>
        TakeGuestBuffer(call, request, queue: true, out answer);

    public Errno StreamOn(in IoctlCall call, uint type, out NoPayload answer)
    {
        answer = default;
        var errno = CheckStreamType(call, type);
        if (errno == Errno.None && Queue.Allocated == 0)
        {
            errno = Errno.EINVAL; // nothing to stream into
        }

        if (errno == Errno.None && !Queue.Streaming)
        {
            Queue.Streaming = true;
            streamer.Start();
        }

        return errno;
    }

    public Errno StreamOff(in IoctlCall call, uint type, out NoPayload answer)
    {
        answer = default;
        var errno = CheckStreamType(call, type);
        if (errno == Errno.None)
        {
            StopStreaming();
        }

        return errno;
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

    /// <summary>STREAMON and STREAMOFF: the capture type, asked by the queue's owner (or by anyone while it has none).</summary>
    private Errno CheckStreamType(in IoctlCall call, uint type) =>
        type != V4l2.BufTypeVideoCapture ? Errno.EINVAL : Queue.IsOwnedByOther(call.Session.Id) ? Errno.EBUSY : Errno.None;

    /// <summary>A USERPTR v4l2_buffer, then its SG list: validated in full before the buffer changes state.</summary>
    private Errno TakeGuestBuffer(in IoctlCall call, in V4l2Buffer request, bool queue, out V4l2Buffer answer)
    {
        answer = default;
        if (request.Type != V4l2.BufTypeVideoCapture || request.Memory != V4l2.MemoryUserPtr ||
            (request.Flags & V4l2.BufFlagRequestFd) != 0)
        {
            return Errno.EINVAL;
        }

        if (Queue.IsOwnedByOther(call.Session.Id))
        {
            return Errno.EBUSY;
        }

        // vb2: a queued buffer is neither queued nor prepared again, and a prepared one is not prepared twice.
        if (!Queue.TryGetBuffer(request.Index, out var buffer) || buffer.State == CaptureBufferState.Queued ||
            (!queue && buffer.State == CaptureBufferState.Prepared))
        {
            return Errno.EINVAL;
        }

        if (request.UserPtr == 0 || request.Length < buffer.MinLength)
        {
            return Errno.EINVAL;
        }

        var errno = GuestSgList.TryParse(call.After<V4l2Buffer>(), request.Length, call.Memory, call.CommandSegments, buffer, out var problem);
        if (errno != Errno.None)
        {
            Log.GuestFault(Component, "bad-sg-list", $"session {call.Session.Id} buffer {request.Index}: {problem}");
            return errno;
        }

        buffer.UserPtr = request.UserPtr;
        if (queue)
        {
            Queue.Enqueue(buffer);
        }
        else
        {
            buffer.State = CaptureBufferState.Prepared;
        }

        answer = Describe(buffer);
        return Errno.None;
    }

    /// <summary>The v4l2_buffer the driver sees for <paramref name="b"/>; pointer-like fields echo the guest's own values.</summary>
    private static V4l2Buffer Describe(CaptureBuffer b) => new()
    {
        Index = b.Index,
        Type = V4l2.BufTypeVideoCapture,
        Flags = V4l2.BufFlagTimestampMonotonic | b.State switch
        {
            CaptureBufferState.Queued => V4l2.BufFlagQueued,
            CaptureBufferState.Prepared => V4l2.BufFlagPrepared,
            _ => 0u,
        },
        Field = V4l2.FieldNone,
        Memory = V4l2.MemoryUserPtr,
        UserPtr = b.UserPtr,
        Length = b.Length == 0 ? b.MinLength : b.Length,
    };
}
