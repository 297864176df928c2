namespace Spectrum.Camera.Cli.Ctl;

/// <summary>The --help texts of 'spectrum-camera ctl' and each of its commands.</summary>
internal static class CtlHelp
{
    public const string Overview = """
        Usage: spectrum-camera ctl [--operator-socket PATH] <command> [options]

        Controls the camera service: which VMs may use the host cameras, which camera each gets, and what they are
        doing with it.

        Commands:
          allow VM [--once]              Let VM's guest see its camera (--once: for the stream it runs now only).
          deny VM [--once]               Stop VM's guest seeing the camera; returns once no camera frame can reach it
                                         (--once: for the stream it runs now only; the next one follows the policy).
          ask VM                         Ask an operator each time VM starts streaming (black frames until answered).
          requests [--json]              The open requests of VMs in ask mode, with the seconds left to answer.
          prompt                         Answer requests as they come, one key each (an interactive terminal, ssh too).
          assign VM CAMERA               Feed VM from CAMERA (kept in the policy); a running stream moves at once.
          cameras [--json]               The service's cameras: device, state, the VMs assigned and receiving frames.
          status [VM] [--json]           Permission, camera, sidecar, stream and frame counts of every VM (or one).
          watch [--json]                 Print requests, answers, permission changes and streams as they happen.
          audit [VM] [--limit N] [--json]  The audit log: permission changes, requests and answers, real-camera streams.

        Options:
          --operator-socket PATH  The camera service's operator socket (default: $SPECTRUM_CAMERA_OPERATOR_SOCKET,
                                  else /run/spectrum-camera/operator.sock).
          --json                  Machine-readable output.
          --help                  Show this help, or a command's ('spectrum-camera ctl allow --help').

        Only operators may connect: root, the service's own user, users given to the service with --operator-uid,
        and users whose primary group is its --operator-group.

        Exit status:
          0  success.
          1  the request failed: no service on the socket, not an operator, an unknown VM (the message says which).
          2  bad usage.

        Environment:
          SPECTRUM_CAMERA_OPERATOR_SOCKET  the operator socket when --operator-socket is not given.

        Files:
          /run/spectrum-camera/operator.sock  the camera service's operator socket under systemd.

        Examples:
          spectrum-camera ctl allow work
          spectrum-camera ctl ask personal
          spectrum-camera ctl prompt
          spectrum-camera ctl assign work usb
          spectrum-camera ctl status
          spectrum-camera ctl audit work --limit 20
        """;

    public const string Allow = """
        Usage: spectrum-camera ctl allow VM [--once] [--json] [--operator-socket PATH]

        Allows VM to use its camera: its guest gets camera frames when it streams (black frames until then).
        Prints e.g. "vm1: allowed (effective: at once)"; "already allowed (no change)" when it was. The change is
        saved in the service's policy.json and recorded in its audit log.

        With --once the policy stays as it is: VM gets camera frames for the stream it runs now, until the guest stops
        streaming (the answer to its open request, if it is in ask mode). An error when VM is not streaming.

        Options:
          --once                  For the current stream only.
          --json                  One JSON object: {"vm":...,"allowed":true,"changed":...,"effective_by":...,"policy":...}
                                  ({"vm":...,"request_id":...,"answer":"allow-once",...} with --once).
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    public const string Deny = """
        Usage: spectrum-camera ctl deny VM [--once] [--json] [--operator-socket PATH]

        Denies VM the host camera. Returns only once the deny is effective: no camera frame is written into the
        guest after that (its stream carries on with black frames). Prints e.g.
        "vm1: denied (effective: sidecar acknowledged)"; other ways it takes effect: "no sidecar connected",
        "sidecar disconnected" (the service cut off a sidecar that did not acknowledge in time).

        With --once the policy stays as it is: the stream VM runs now stays black until the guest stops streaming;
        the next stream follows the policy again (and asks again in ask mode). An error when VM is not streaming.

        Options:
          --once                  For the current stream only.
          --json                  One JSON object: {"vm":...,"allowed":false,"changed":...,"effective_by":...,"policy":...}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    public const string Ask = """
        Usage: spectrum-camera ctl ask VM [--json] [--operator-socket PATH]

        Puts VM in ask mode: each time its guest starts streaming the service raises a request (VM, camera, format,
        rate, time) and the guest sees black frames until an operator answers it: allow or deny, once (this stream)
        or always (the policy). Unanswered, the stream is denied after the service's --ask-timeout (default 30 s);
        the next stream asks again. Answer with 'ctl prompt', 'spectrum-camera notify' (desktop notifications),
        'ctl allow|deny VM --once' or 'ctl allow|deny VM'. Returns once a camera frame can no longer reach VM.

        Options:
          --json                  One JSON object: {"vm":...,"allowed":false,"changed":...,"effective_by":...,"policy":"ask"}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    public const string Requests = """
        Usage: spectrum-camera ctl requests [--json] [--operator-socket PATH]

        The open requests of VMs in ask mode, oldest first:
          REQUEST  VM  CAMERA  FORMAT  ASKED  LEFT
        LEFT is the time until the request is denied unanswered. Answer one with 'ctl allow VM --once', 'ctl deny VM
        --once', or for good with 'ctl allow VM' / 'ctl deny VM'.

        Options:
          --json                  One JSON object: {"requests":[{"id":...,"vm":...,"camera":...,"guest_format":...,
                                  "deadline_unix_ms":...,...}]}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    public const string Prompt = """
        Usage: spectrum-camera ctl prompt [--operator-socket PATH]

        An interactive prompt for a terminal (a local one or over ssh): shows each request of a VM in ask mode as it
        arrives, with a countdown to its deadline, and answers it from one key:
          o  allow once (this stream)      a  allow always (policy allow)
          d  deny once (this stream)       n  deny always (policy deny)
          s  skip (leave it to another front end or the timeout)   q  quit
        Requests that are already open when it starts are shown first, oldest first. A request answered elsewhere,
        withdrawn or timed out is reported and the next one shown.

        Options:
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    public const string Assign = """
        Usage: spectrum-camera ctl assign VM CAMERA [--json] [--operator-socket PATH]

        Feeds VM from CAMERA (a name from 'ctl cameras'). Saved in the service's policy.json with VM's permission;
        VMs nobody assigned use the first camera. A VM that streams now moves without its guest noticing anything
        but the picture: the same format, the sequence goes on, and the frame after the new camera's first frame
        comes from it. Prints e.g. "vm1: assigned camera usb (...)".

        Options:
          --json                  One JSON object: {"vm":...,"camera":...,"changed":...}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    public const string Cameras = """
        Usage: spectrum-camera ctl cameras [--json] [--operator-socket PATH]

        One line per camera of the service, in --camera order (the first is the default):
          CAMERA  DEVICE  STATE  ASSIGNED  RECEIVING  FRAMES
        STATE stopped (closed: no allowed VM streams from it), opening, streaming or unavailable (unplugged; retried
        every second); ASSIGNED the VMs it feeds; RECEIVING those that get its frames now.

        Options:
          --json                  One JSON object: {"cameras":[{"name":...,"device":...,"state":...,"vms":[...],...}]}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    public const string Status = """
        Usage: spectrum-camera ctl status [VM] [--json] [--operator-socket PATH]

        One line per VM (or just VM):
          VM  PERMISSION  SIDECAR  STREAM  REAL  BLACK  CAMERA  STATE  LAST CHANGE
        PERMISSION allow, deny or ask, with /allow-once or /deny-once while such an answer holds the current stream;
        SIDECAR connected or -; STREAM the guest's format while it streams, else -; REAL and BLACK the camera and black
        frames written into the guest; CAMERA the camera the VM is assigned; STATE what that means for the VM now
        (denied, asking, opening, streaming, unavailable, idle); LAST CHANGE when and by which uid the permission last
        changed.

        Options:
          --json                  One JSON object: {"vms":[{"vm":...,"allowed":...,"policy":...,"camera":...,...}]}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    public const string Watch = """
        Usage: spectrum-camera ctl watch [--json] [--operator-socket PATH]

        Prints one line per event, with local time, until interrupted or the service stops (exit status 1):
          12:34:56.789 vm1 denied by uid 1000
          12:34:57.001 vm1 stream started: NV12 1280x720 30 fps (black frames)
          12:34:57.002 vm1 asks for camera usb: NV12 1280x720 30 fps (request 3, 30 s to answer)
          12:34:59.120 vm1 request 3 allowed for this stream by uid 1000
          12:34:59.121 vm1 receives real frames from camera usb
        Requests open when it starts come first.

        Options:
          --json                  One JSON object per line: {"time_unix_ms":...,"vm":...,"event":"permission-changed",...}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    public const string Audit = """
        Usage: spectrum-camera ctl audit [VM] [--limit N] [--json] [--operator-socket PATH]

        Prints the service's audit log, oldest first, one line per entry: local time, VM, action (allow, deny, ask,
        assign, request, allow-once, deny-once, request-timeout, request-withdrawn, real-stream-start,
        real-stream-stop), the uid that did it, the request it belongs to, and details.

        Options:
          --limit N               Only the newest N entries (default: all).
          --json                  One JSON object: {"entries":[{"time_unix_ms":...,"vm":...,"action":...,"uid":...,"detail":...}]}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;
}
