#!/usr/bin/env python3
"""The demo's last step (tools/demo.sh): relates the guest's frames to the host's ctl steps, prints the timeline and
draws one contact sheet (frames from each permission phase, labelled with the permission and the frame's sequence
number) with ffmpeg. Exit status 0 when the frames followed the permission: black before the first allow and while
denied, camera frames while allowed, in four runs; 1 otherwise.

Inputs: the guest's results (perm-dqbuf.log: one v4l2-ctl line per dequeued buffer with its
sequence number and guest CLOCK_MONOTONIC timestamp; perm.raw: the frames), the driver's timeline.json (the guest's
console markers seen on the host clock, and each ctl step's start and return) and the per-frame classes from
'spectrum-camera verify-frames --allow-black --json'."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

DQBUF = re.compile(r"cap dqbuf:\s*\d+ seq:\s*(\d+) bytesused: \d+ ts: (\d+)\.(\d+)")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
PER_PHASE = 3
GAP = 6
LABEL_HEIGHT = 26
TITLE_HEIGHT = 56
STATE_COLOURS = {"allowed": "0x5ee07a", "denied": "0xff6b6b"}


def load_frames(results):
    frames = []
    with open(os.path.join(results, "perm-dqbuf.log"), encoding="utf-8", errors="replace") as f:
        for line in f:
            m = DQBUF.search(line)
            if m:
                frames.append({"seq": int(m.group(1)), "ts": int(m.group(2)) * 1_000_000_000 + int(m.group(3)) * 1000})
    return frames


def phases(steps, offset):
    """The permission over time on the guest clock: (from_ns, state, step or None). A step counts from its return:
    allow and deny both return once they are in effect; frames while a step runs are 'switching'."""
    out = [(0, "denied", None)]
    for st in steps:
        out.append((st["start_ns"] - offset, "switching", st))
        out.append((st["return_ns"] - offset, "allowed" if st["action"] == "allow" else "denied", st))
    return out


def state_at(ts, timeline):
    state = timeline[0][1]
    for start, s, _ in timeline:
        if ts >= start:
            state = s
    return state


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--results", required=True)
    p.add_argument("--timeline", required=True)
    p.add_argument("--frames", required=True, help="verify-frames --allow-black --json output")
    p.add_argument("--size", default="320x240", help="the frames' size (YUYV)")
    p.add_argument("--camera", default="test-pattern")
    p.add_argument("--vm", default="demo")
    p.add_argument("--out", required=True)
    a = p.parse_args()

    width, height = (int(x) for x in a.size.split("x"))
    frames = load_frames(a.results)
    with open(a.timeline, encoding="utf-8") as f:
        timeline = json.load(f)
    with open(a.frames, encoding="utf-8") as f:
        classes = json.load(f).get("classes", [])
    if not frames or len(frames) != len(classes) or not timeline.get("markers"):
        print(f"demo: nothing to show: {len(frames)} dequeued buffers, {len(classes)} frames in the capture, "
              f"{len(timeline.get('markers', []))} console markers", file=sys.stderr)
        return 1

    # The guest clock is the host clock minus an offset; each console marker was written before the host read it,
    # so each bounds the offset from above and the smallest is the best estimate.
    offset = min(m["host_ns"] - m["guest_ns"] for m in timeline["markers"])
    steps = timeline["steps"]
    plan = phases(steps, offset)
    t0 = frames[0]["ts"]
    camera = [c != "black" for c in classes]
    for f, c in zip(frames, camera):
        f["camera"] = c
        f["state"] = state_at(f["ts"], plan)

    # The timeline: each ctl step with what it printed, and the first frame whose content changed after it.
    secs = lambda ns: f"{(ns - t0) / 1e9:6.2f} s"
    print(f"Timeline of VM '{a.vm}' (guest clock from its first frame; 'frame N' is the V4L2 sequence number "
          "the guest application got)")
    print(f"  {secs(t0)}  the guest streams {width}x{height} YUYV at 30 fps; '{a.vm}' is denied by default: "
          f"{'camera frames' if camera[0] else 'black frames'} from frame {frames[0]['seq']}")
    ok = not camera[0]
    for st in steps:
        start, ret = st["start_ns"] - offset, st["return_ns"] - offset
        said = (st.get("stdout") or st.get("stderr") or "").strip()
        print(f"  {secs(start)}  host: spectrum-camera ctl {st['action']} {a.vm}  ->  \"{said}\" "
              f"(exit {st['exit']}, {(ret - start) / 1e6:.0f} ms)")
        want = st["action"] == "allow"
        first = next((f for f in frames if f["ts"] >= start and f["camera"] == want), None)
        if first is None:
            print(f"  {'':8}  no {'camera' if want else 'black'} frame after it")
            ok = False
        else:
            print(f"  {secs(first['ts'])}  {'camera' if want else 'black'} frames from frame {first['seq']} "
                  f"({abs(first['ts'] - ret) / 1e6:.0f} ms {'after' if first['ts'] >= ret else 'before'} ctl returned)")
    runs = []
    for c in camera:
        if not runs or runs[-1][0] != c:
            runs.append([c, 0])
        runs[-1][1] += 1
    dropped = frames[-1]["seq"] - frames[0]["seq"] + 1 - len(frames)
    print(f"  {secs(frames[-1]['ts'])}  the stream ends after {len(frames)} frames (sequence {frames[0]['seq']}.."
          f"{frames[-1]['seq']}, frame periods without a queued buffer: {dropped}): "
          + ", ".join(f"{n} {'camera' if c else 'black'}" for c, n in runs))
    ok = ok and [r[0] for r in runs] == [False, True, False, True]

    # The sheet: PER_PHASE frames from the middle of each phase, one row per phase.
    rows, current = [], None
    for i, f in enumerate(frames):
        if f["state"] == "switching":
            current = None
            continue
        if current is None or current["state"] != f["state"]:
            current = {"state": f["state"], "index": []}
            rows.append(current)
        current["index"].append(i)
    first_row = True
    for row in rows:
        n = len(row["index"])
        picks = sorted({row["index"][min(n - 1, int(n * (k + 1) / (PER_PHASE + 1)))] for k in range(PER_PHASE)})
        row["picks"] = picks
        row["title"] = "denied (default)" if first_row else row["state"]
        first_row = False
        for i in picks:
            if frames[i]["camera"] != (row["state"] == "allowed"):
                print(f"demo: frame {frames[i]['seq']} is {'a camera frame' if frames[i]['camera'] else 'black'} "
                      f"while {a.vm} was {row['state']}", file=sys.stderr)
                ok = False

    frame_size = width * height * 2
    tile_w, tile_h = width + GAP, height + LABEL_HEIGHT + GAP
    cols = max(len(r["picks"]) for r in rows)
    with tempfile.TemporaryDirectory() as tmp, open(os.path.join(a.results, "perm.raw"), "rb") as raw:
        inputs, chains, labels, layout = [], [], [], []
        for r, row in enumerate(rows):
            for c, i in enumerate(row["picks"]):
                k = len(labels)
                raw.seek(i * frame_size)
                tile = os.path.join(tmp, f"{k}.yuyv")
                with open(tile, "wb") as t:
                    t.write(raw.read(frame_size))
                label = os.path.join(tmp, f"{k}.txt")
                with open(label, "w", encoding="utf-8") as t:
                    t.write(f"{row['title'].upper()}   frame {frames[i]['seq']}   {(frames[i]['ts'] - t0) / 1e9:.2f} s")
                inputs += ["-f", "rawvideo", "-pixel_format", "yuyv422", "-video_size", f"{width}x{height}", "-i", tile]
                colour = STATE_COLOURS[row["state"]]
                chains.append(f"[{k}:v]format=rgb24,pad={tile_w}:{tile_h}:{GAP // 2}:{GAP // 2}:color=0x202020,"
                              f"drawtext=fontfile={FONT}:textfile={label}:x={GAP // 2 + 6}:y={height + GAP // 2 + 6}:"
                              f"fontsize=14:fontcolor={colour}[t{k}]")
                labels.append(f"[t{k}]")
                layout.append(f"{c * tile_w}_{r * tile_h}")
        title = os.path.join(tmp, "title.txt")
        with open(title, "w", encoding="utf-8") as t:
            t.write(f"Spectrum Camera: VM '{a.vm}' streams {width}x{height} while the host runs ctl allow, deny, allow\n"
                    f"camera: {a.camera}; one row per phase; one stream of {len(frames)} frames: "
                    + ", ".join(f"{n} {'camera' if c else 'black'}" for c, n in runs))
        graph = ";".join(chains) + ";" + "".join(labels) + \
            f"xstack=inputs={len(labels)}:layout={'|'.join(layout)}:fill=0x202020," \
            f"pad=iw:ih+{TITLE_HEIGHT}:0:{TITLE_HEIGHT}:color=0x202020," \
            f"drawtext=fontfile={FONT_BOLD}:textfile={title}:x=10:y=10:fontsize=15:fontcolor=white:line_spacing=6[out]"
        if len(labels) == 1:
            graph = graph.replace("xstack=inputs=1:layout=0_0:fill=0x202020,", "")
        cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
               "-map", "[out]", "-frames:v", "1", a.out]
        done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        print(f"demo: ffmpeg could not draw the contact sheet (exit {done.returncode})", file=sys.stderr)
        return 1
    print(f"Contact sheet: {a.out} ({cols} x {len(rows)} frames: "
          + ", ".join(f"{row['title']}" for row in rows) + ")")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
