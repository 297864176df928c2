using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// REQBUFS, CREATE_BUFS, QUERYBUF, PREPARE_BUF, QBUF, STREAMON and STREAMOFF for the device's single-planar queue
/// (the capture device's VIDEO_CAPTURE queue or the output device's VIDEO_OUTPUT queue; any other type is EINVAL).
/// Only guest pages (V4L2_MEMORY_USERPTR on the wire) are accepted: there is no shared-memory window for MMAP on QEMU
/// 10.0, and DMABUF (virtio objects) is implemented by no driver; both get EINVAL, and REQBUFS reports
/// SUPPORTS_USERPTR alone so the driver knows what works. An output buffer carries one whole frame: its bytesused
/// must be exactly the format's size.
/// </summary>
internal sealed class BufferIoctls(DeviceState state, IStreamer streamer)
{
    private const string Component = "virtio-media";

    private BufferQueue Queue => state.Queue;

    public Errno RequestBuffers(in IoctlCall call, in V4l2RequestBuffers request, out V4l2RequestBuffers answer)
    {
        answer = default;
        if (request.Type != state.BufferType || request.Memory != V4l2.MemoryUserPtr)
        {
            return Errno.EINVAL;
        }

        if (Queue.IsOwnedByOther(call.Session.Id) || Queue.Streaming)
        {
            return Errno.EBUSY;
        }

        Queue.Reallocate(call.Session.Id, request.Count, state.Format.SizeImage);
        state.ApplyRequestedModeIfIdle();
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
        if (request.Memory != V4l2.MemoryUserPtr || request.Format.Type != state.BufferType)
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
        else if (index == BufferQueue.MaxBuffers)
        {
            return Errno.ENOBUFS;
        }
        else if (size < state.Format.SizeImage || size > GuestSgList.MaxBufferLength)
        {
            return Errno.EINVAL;
        }

        var added = request.Count == 0 ? 0 : Queue.Add(call.Session.Id, request.Count, size);
        var format = FormatIoctls.Describe(state.BufferType, state.Format);
        format.Pix.SizeImage = size;
        answer = new V4l2CreateBuffers
        {
            Index = index,
            Count = added,
            Memory = request.Memory,
            Format = format,
            Capabilities = V4l2.BufCapSupportsUserPtr,
            MaxNumBuffers = BufferQueue.MaxBuffers,
        };
        return Errno.None;
    }

    public Errno QueryBuffer(in V4l2Buffer request, out V4l2Buffer answer)
    {
        answer = default;
        if (request.Type != state.BufferType || !Queue.TryGetBuffer(request.Index, out var buffer))
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

    /// <summary>The owner of the queue closed: stop its stream and free the queue for other sessions.</summary>
    public void ReleaseIfOwner(uint session)
    {
        if (Queue.Owner == session)
        {
            StopStreaming();
            Queue.Release();
            state.ApplyRequestedModeIfIdle();
        }
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

    /// <summary>STREAMON and STREAMOFF: the queue's type, asked by the queue's owner (or by anyone while it has none).</summary>
    private Errno CheckStreamType(in IoctlCall call, uint type) =>
        type != state.BufferType ? Errno.EINVAL : Queue.IsOwnedByOther(call.Session.Id) ? Errno.EBUSY : Errno.None;

    /// <summary>A USERPTR v4l2_buffer, then its SG list: validated in full before the buffer changes state.</summary>
    private Errno TakeGuestBuffer(in IoctlCall call, in V4l2Buffer request, bool queue, out V4l2Buffer answer)
    {
        answer = default;
        if (request.Type != state.BufferType || request.Memory != V4l2.MemoryUserPtr ||
            (request.Flags & V4l2.BufFlagRequestFd) != 0)
        {
            return Errno.EINVAL;
        }

        if (state.IsOutput && OutputFrameProblem(request) is { } frameProblem)
        {
            Log.GuestFault(Component, "bad-output-buffer", $"session {call.Session.Id} buffer {request.Index}: {frameProblem}");
            return Errno.EINVAL;
        }

        if (Queue.IsOwnedByOther(call.Session.Id))
        {
            return Errno.EBUSY;
        }

        // vb2: a queued buffer is neither queued nor prepared again, and a prepared one is not prepared twice.
        if (!Queue.TryGetBuffer(request.Index, out var buffer) || buffer.State == QueueBufferState.Queued ||
            (!queue && buffer.State == QueueBufferState.Prepared))
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
            buffer.State = QueueBufferState.Prepared;
        }

        answer = Describe(buffer);
        return Errno.None;
    }

    /// <summary>
    /// Why an output buffer cannot be taken as one frame of the current format, or null when it can: bytesused must be
    /// the format's exact size (a short or long frame is never passed on; vb2's "0 means the whole buffer" is refused
    /// too, because the buffer may be longer than a frame), and the field progressive (NONE, or ANY for "the driver's
    /// choice").
    /// </summary>
    private string? OutputFrameProblem(in V4l2Buffer request)
    {
        if (request.BytesUsed != state.Format.SizeImage)
        {
            return $"bytesused {request.BytesUsed} is not the {state.Format} frame size {state.Format.SizeImage}";
        }

        return request.Field is V4l2.FieldNone or V4l2.FieldAny ? null : $"field {request.Field} is not progressive";
    }

    /// <summary>The v4l2_buffer the driver sees for <paramref name="b"/>; pointer-like fields echo the guest's own values.</summary>
    private V4l2Buffer Describe(QueueBuffer b) => new()
    {
        Index = b.Index,
        Type = state.BufferType,
        Flags = V4l2.BufFlagTimestampMonotonic | b.State switch
        {
            QueueBufferState.Queued => V4l2.BufFlagQueued,
            QueueBufferState.Prepared => V4l2.BufFlagPrepared,
            _ => 0u,
        },
        Field = V4l2.FieldNone,
        Memory = V4l2.MemoryUserPtr,
        UserPtr = b.UserPtr,

        // An output buffer that took a frame reports its size (the format cannot change while buffers exist).
        BytesUsed = state.IsOutput && b.Length != 0 ? state.Format.SizeImage : 0,
        Length = b.Length == 0 ? b.MinLength : b.Length,
    };
}
