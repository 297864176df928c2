using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>How an allowlist serves one ioctl on typed structures, and how it refuses one.</summary>
internal static class TypedIoctl
{
    /// <summary>
    /// Reads the request structure, checks that the answer fits, runs <paramref name="handler"/>, and answers with its
    /// structure (or with its errno and no payload).
    /// </summary>
    public static bool Serve<TTable, TRequest, TAnswer>(TTable table, in IoctlCall call, CommandResponse response,
        IoctlHandler<TTable, TRequest, TAnswer> handler)
        where TRequest : unmanaged
        where TAnswer : unmanaged
    {
        var requestSize = NoPayload.SizeOf<TRequest>();
        if (call.Payload.Length < requestSize)
        {
            CommandDispatcher.Fault(response, $"{call.Code.Name()} payload is {call.Payload.Length} bytes, needs {requestSize}", Errno.EINVAL);
            return false;
        }

        var answerSize = NoPayload.SizeOf<TAnswer>();
        if (!response.HasRoomFor(answerSize))
        {
            CommandDispatcher.Fault(response, $"{call.Code.Name()} response area of {response.Capacity} bytes is too small", Errno.EINVAL);
            return false;
        }

        var request = requestSize == 0 ? default : WireStruct.Read<TRequest>(call.Payload);
        var errno = handler(table, call, request, out var answer);
        call.Session.Ioctls++;
        if (errno != Errno.None || answerSize == 0)
        {
            response.Answer(errno);
        }
        else
        {
            response.Answer(in answer);
        }

        return errno == Errno.None;
    }

    /// <summary>An ioctl the device does not serve: ENOTTY, as V4L2 answers it.</summary>
    public static bool Refuse(CommandResponse response)
    {
        response.Answer(Errno.ENOTTY);
        return false;
    }
}
