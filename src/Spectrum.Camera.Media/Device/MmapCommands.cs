using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// CMD_MMAP and CMD_MUNMAP (virtio 1.4 §5.22): read from the request copy into their structures, checked, then handed
/// to the <see cref="SharedMemoryWindow"/>. Without a window (QEMU 10.0's device) they answer as they always did: MMAP
/// ENOTTY, as the reference device does without a mapper, and MUNMAP EINVAL, there being nothing to unmap.
/// </summary>
internal sealed class MmapCommands(DeviceState state, SharedMemoryWindow window)
{
    private const string Component = "virtio-media";

    private static readonly int MmapAnswerPayload = WireStruct.SizeOf<VirtioMediaMmapResponse>() - WireStruct.SizeOf<VirtioMediaResponseHeader>();

    /// <summary>
    /// Maps the MMAP buffer whose QUERYBUF offset the command names, for the session that allocated it only: an unknown
    /// session or offset is EINVAL, another session's buffer EACCES. The answer (offset into region 0 and the buffer's
    /// length) comes once the VMM acknowledged the mapping.
    /// </summary>
    public void Map(in CommandRequest request, CommandResponse response)
    {
        if (!window.IsAttached)
        {
            response.Answer(Errno.ENOTTY);
            return;
        }

        if (!WireStruct.TryRead(request.Bytes, out VirtioMediaMmapCommand mmap) || !response.HasRoomFor(MmapAnswerPayload))
        {
            Fault(response, $"MMAP of {request.ReadableLength} readable and {request.WritableLength} writable bytes: " +
                $"needs {WireStruct.SizeOf<VirtioMediaMmapCommand>()} and {WireStruct.SizeOf<VirtioMediaMmapResponse>()}");
            return;
        }

        if ((mmap.Flags & ~VirtioMediaWire.MmapFlagReadWrite) != 0)
        {
            Fault(response, $"MMAP flags 0x{mmap.Flags:x} has unknown bits");
            return;
        }

        if (!state.Sessions.TryGet(mmap.SessionId, out _))
        {
            Fault(response, $"MMAP on unknown session {mmap.SessionId}");
            return;
        }

        if (!state.Queue.TryGetByMemOffset(mmap.Offset, out var buffer))
        {
            Fault(response, $"session {mmap.SessionId}: MMAP offset 0x{mmap.Offset:x} is no MMAP buffer's");
            return;
        }

        var owned = buffer.Owned!;
        if (owned.Session != mmap.SessionId)
        {
            Log.GuestFault(Component, "mmap-foreign", $"session {mmap.SessionId}: MMAP of buffer {buffer.Index}, which session {owned.Session} allocated, refused");
            response.Answer(Errno.EACCES);
            return;
        }

        window.Map(mmap.SessionId, owned, (mmap.Flags & VirtioMediaWire.MmapFlagReadWrite) != 0, response);
    }

    /// <summary>Unmaps what MMAP mapped at the command's address; anything else is EINVAL.</summary>
    public void Unmap(in CommandRequest request, CommandResponse response)
    {
        if (!window.IsAttached)
        {
            response.Answer(Errno.EINVAL);
            return;
        }

        if (!WireStruct.TryRead(request.Bytes, out VirtioMediaMunmapCommand munmap))
        {
            Fault(response, $"MUNMAP shorter than {WireStruct.SizeOf<VirtioMediaMunmapCommand>()} bytes");
            return;
        }

        window.Unmap(munmap.DriverAddress, response);
    }

    private static void Fault(CommandResponse response, string message)
    {
        Log.GuestFault(Component, "bad-command", message);
        response.Answer(Errno.EINVAL);
    }
}
