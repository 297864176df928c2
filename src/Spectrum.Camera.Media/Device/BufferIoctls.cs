using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// REQBUFS, CREATE_BUFS, QUERYBUF, PREPARE_BUF, QBUF, STREAMON and STREAMOFF for the device's single-planar queue
/// (the capture device's VIDEO_CAPTURE queue or the output device's VIDEO_OUTPUT queue; any other type is EINVAL).
/// Guest pages (V4L2_MEMORY_USERPTR on the wire) always work; device-owned buffers (V4L2_MEMORY_MMAP) only while the
/// shared-memory window is usable (QEMU 11.2's vhost-user-media; QEMU 10.0's device has none, and MMAP stays EINVAL
/// there as before; the output device offers no window). DMABUF (virtio objects) is implemented by no driver and gets
/// EINVAL. REQBUFS and CREATE_BUFS report what works in their capabilities. An output buffer carries one whole frame:
/// its bytesused must be exactly the format's size.
/// </summary>
internal sealed class BufferIoctls(DeviceState state, IStreamer streamer, SharedMemoryWindow window)
{
    private const string Component = "virtio-media";

    private BufferQueue Queue => state.Queue;

    /// <summary>V4L2_BUF_CAP_* for REQBUFS and CREATE_BUFS: MMAP (with orphaned buffers) only with a usable window.</summary>
    private uint Capabilities => V4l2.BufCapSupportsUserPtr |
                                 (window.IsUsable ? V4l2.BufCapSupportsMmap | V4l2.BufCapSupportsOrphanedBufs : 0u);

    public Errno RequestBuffers(in IoctlCall call, in V4l2RequestBuffers request, out V4l2RequestBuffers answer)
    {
        answer = default;
        if (request.Type != state.BufferType || !IsServed(request.Memory))
        {
            return Errno.EINVAL;
        }

        if (Queue.IsOwnedByOther(call.Session.Id) || Queue.Streaming)
        {
            return Errno.EBUSY;
        }

        Queue.Reallocate(call.Session.Id, request.Count, state.Format.SizeImage, request.Memory);
        if (request.Memory == V4l2.MemoryMmap && Queue.Allocated > 0 &&
            AllocateOwned(call.Session.Id, 0, Queue.Allocated, state.Format.SizeImage) == 0)
        {
            return Errno.ENOMEM; // not even one buffer fits (vb2 answers the same)
        }

        state.ApplyRequestedModeIfIdle();
        answer = new V4l2RequestBuffers
        {
            Count = Queue.Allocated,
            Type = request.Type,
            Memory = request.Memory,
            Capabilities = Capabilities,
        };
        return Errno.None;
    }

    /// <summary>
    /// USERPTR buffers here are only slots: their memory comes with each QBUF, which must then be at least the sizeimage
    /// of the format CREATE_BUFS was given; MMAP buffers get device memory of that size now. As vb2 does: a count of 0
    /// only reports; otherwise a sizeimage of 0 is EINVAL, a full queue ENOBUFS, a sizeimage smaller than the current
    /// format needs (or larger than any buffer QBUF takes) EINVAL, and another memory type than the queue's EINVAL.
    /// </summary>
    public Errno CreateBuffers(in IoctlCall call, in V4l2CreateBuffers request, out V4l2CreateBuffers answer)
    {
        answer = default;
        if (!IsServed(request.Memory) || request.Format.Type != state.BufferType)
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
        else if (size == 0 || (index > 0 && request.Memory != Queue.Memory))
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

        var added = request.Count == 0 ? 0 : Queue.Add(call.Session.Id, request.Count, size, request.Memory);
        if (request.Memory == V4l2.MemoryMmap && added > 0)
        {
            added = AllocateOwned(call.Session.Id, index, added, size);
            if (added == 0)
            {
                return Errno.ENOMEM;
            }
        }

        var format = FormatIoctls.Describe(state.BufferType, state.Format);
        format.Pix.SizeImage = size;
        answer = new V4l2CreateBuffers
        {
            Index = index,
            Count = added,
            Memory = request.Memory,
            Format = format,
            Capabilities = Capabilities,
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

        answer = Describe(buffer, Queue.Memory);
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

    /// <summary>
    /// Gives slots <paramref name="from"/>.. device memory of <paramref name="length"/> bytes each, as many as the window
    /// allows; the queue keeps only those that got some. Returns how many did.
    /// </summary>
    private uint AllocateOwned(uint session, uint from, uint count, uint length)
    {
        var created = 0u;
        while (created < count && Queue.TryGetBuffer(from + created, out var slot) && window.TryCreateBuffer(session, length) is { } owned)
        {
            slot.Owned = owned;
            slot.Length = owned.Length;
            created++;
        }

        if (created < count)
        {
            Log.GuestFault(Component, "mmap-memory", $"session {session}: {created} of {count} MMAP buffers of {length} bytes fit " +
                $"({window.BufferBytes} of {window.RegionSize} bytes of device buffers in use)");
        }

        Queue.Truncate(from + created);
        return created;
    }

    /// <summary>USERPTR always; MMAP while the window is usable.</summary>
    private bool IsServed(uint memory) => memory == V4l2.MemoryUserPtr || (memory == V4l2.MemoryMmap && window.IsUsable);

    /// <summary>
    /// A v4l2_buffer of the queue's memory type, validated in full before the buffer changes state: an MMAP buffer
    /// carries nothing more; a USERPTR one its SG list, except that QBUF of a PREPARED buffer with m.userptr 0 and length
    /// 0 queues the memory PREPARE_BUF gave it, as vb2 does (a pass-through driver sends exactly that).
    /// </summary>
    private Errno TakeGuestBuffer(in IoctlCall call, in V4l2Buffer request, bool queue, out V4l2Buffer answer)
    {
        answer = default;
        if (request.Type != state.BufferType || request.Memory != Queue.Memory ||
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

        var keepPrepared = queue && buffer.State == QueueBufferState.Prepared && request.UserPtr == 0 && request.Length == 0;
        if (Queue.Memory == V4l2.MemoryUserPtr && !keepPrepared)
        {
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
        }
        else if (Queue.Memory == V4l2.MemoryMmap && buffer.Owned is null)
        {
            return Errno.EINVAL;
        }

        if (queue)
        {
            Queue.Enqueue(buffer);
        }
        else
        {
            buffer.State = QueueBufferState.Prepared;
        }

        answer = Describe(buffer, Queue.Memory);
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

    /// <summary>
    /// The v4l2_buffer the driver sees for <paramref name="b"/>: a USERPTR buffer echoes the guest's m.userptr; an MMAP
    /// buffer reports its mmap offset and its length, and MAPPED while the window maps it.
    /// </summary>
    private V4l2Buffer Describe(QueueBuffer b, uint memory)
    {
        var d = new V4l2Buffer
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
            Memory = memory,

            // An output buffer that took a frame reports its size (the format cannot change while buffers exist).
            BytesUsed = state.IsOutput && b.Length != 0 ? state.Format.SizeImage : 0,
            Length = b.Length == 0 ? b.MinLength : b.Length,
        };
        if (b.Owned is { } owned)
        {
            d.Offset = b.MemOffset;
            d.Length = owned.Length;
            d.Flags |= owned.WindowMappings > 0 ? V4l2.BufFlagMapped : 0;
        }
        else
        {
            d.UserPtr = b.UserPtr;
        }

        return d;
    }
}
