using System.Diagnostics;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Bench.Device;

/// <summary>
/// The guest driver's side of the steady-state frame loop, without allocating: the test frontend's rings and
/// eventfds, used the way the Linux virtio driver uses them (EVENT_IDX: kick only when the device asked, re-arm
/// interrupts before sleeping on the call eventfd).
/// </summary>
internal static class RingOps
{
    /// <summary>Publishes a one-or-two descriptor chain already written at <paramref name="head"/> and kicks if needed.</summary>
    public static void Publish(GuestVirtqueue queue, ushort head)
    {
        var before = queue.AvailIndex;
        queue.PublishHead(head);
        KickIfNeeded(queue, before);
    }

    /// <summary>vring_need_event(avail_event, new, old): the device wants a kick when avail idx passes avail_event.</summary>
    public static void KickIfNeeded(GuestVirtqueue queue, ushort oldAvail)
    {
        Interlocked.MemoryBarrier();
        var newAvail = queue.AvailIndex;
        if ((ushort)(newAvail - queue.AvailEvent - 1) < (ushort)(newAvail - oldAvail))
        {
            queue.Notify();
        }
    }

    /// <summary>Waits (asleep on the call eventfd, interrupts armed) for the next used element and takes it.</summary>
    public static (ushort Head, uint Length) WaitUsed(GuestVirtqueue queue, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            queue.SetUsedEvent(queue.UsedIndex);
            if (queue.TryTakeUsed(out var head, out var length))
            {
                return (head, length);
            }

            var left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                throw new TimeoutException("the device completed nothing in time");
            }

            queue.WaitForCall(TimeSpan.FromTicks(Math.Min(left * TimeSpan.TicksPerSecond / Stopwatch.Frequency, TimeSpan.TicksPerSecond)));
        }
    }
}

/// <summary>
/// One command at a time on the commandq (the Linux driver sends them one by one) over two descriptors that the test
/// driver's allocator never reaches (the top two of the table): the request is placed in guest RAM once
/// (<see cref="Place"/>), and each <see cref="Send"/> only writes the descriptors, publishes, kicks and waits.
/// </summary>
internal sealed class CommandSlot
{
    private readonly GuestRam _ram;
    private readonly GuestVirtqueue _queue;
    private readonly ushort _head;
    private readonly ulong _responseGpa;
    private const int ResponseCapacity = 8 + 256;

    public CommandSlot(GuestRam ram, GuestVirtqueue queue)
    {
        _ram = ram;
        _queue = queue;
        _head = (ushort)(queue.Size - 2);
        _responseGpa = ram.Allocate(ResponseCapacity, 64);
    }

    public readonly record struct Placed(ulong Gpa, uint Length, uint ResponseLength);

    /// <summary>Copies a whole command into guest RAM for later sends; <paramref name="responsePayload"/> after the 8-byte header.</summary>
    public Placed Place(ReadOnlySpan<byte> command, int responsePayload)
    {
        var gpa = _ram.Allocate((ulong)command.Length, 64);
        command.CopyTo(_ram.Span(gpa, command.Length));
        return new Placed(gpa, (uint)command.Length, (uint)(8 + responsePayload));
    }

    /// <summary>Sends a placed command and waits for its answer; returns the status word (0 or an errno).</summary>
    public uint Send(in Placed command)
    {
        Start(command);
        return Finish();
    }

    /// <summary>Publishes and kicks a placed command without waiting for it.</summary>
    public void Start(in Placed command)
    {
        var next = (ushort)(_head + 1);
        _queue.WriteDescriptor(_head, command.Gpa, command.Length, GuestVirtqueue.FlagNext, next);
        _queue.WriteDescriptor(next, _responseGpa, command.ResponseLength, GuestVirtqueue.FlagWrite, 0);
        RingOps.Publish(_queue, _head);
    }

    /// <summary>Waits for the command <see cref="Start"/> sent; returns its status word.</summary>
    public uint Finish()
    {
        var (head, length) = RingOps.WaitUsed(_queue, ServedDevice.Timeout);
        if (head != _head || length < 8)
        {
            throw new InvalidOperationException($"commandq completed head {head} ({length} bytes), expected {_head}");
        }

        return MediaRequests.Read<VirtioMediaResponseHeader>(_ram.Span(_responseGpa, 8)).Status;
    }
}
