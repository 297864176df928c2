"""The end-to-end judges' shared library.

Every phase's judge (evaluate.py, judge_host_camera.py, judge-camera-service.py, judge_hostile.py, judge_faults.py)
turns what the guest and the host scripts left on disk into checks with this module: recording checks, reading
results, classifying frames and their sequence, the one kernel-splat pattern and v4l2-compliance against the tool's
recorded false failures. A check's name states the threshold it applies; its detail reports the measured figure.
The module has no state of its own and runs no guest: tests/e2e/test_judge.py tests it on recorded artifacts."""
import json
import os
import re
import subprocess
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- checks -------------------------------------------------------------------------------------------------------

class Judge:
    """Collects checks ({name, passed, detail}), prints one line per check and writes them as results.json, the file
    tools/count-results.py adds up."""

    def __init__(self, prefix=""):
        self.prefix = prefix
        self.checks = []

    def check(self, name, passed, detail="", timeouts=()):
        """Records a check. `timeouts` are the mark and wait timeouts the check depends on: any fails it, whatever
        `passed` says (what it judged was not what it meant to judge)."""
        passed = bool(passed) and not timeouts
        if timeouts:
            detail = f"timed out: {'; '.join(timeouts)}" + (f"; {detail}" if detail else "")
        self.checks.append({"name": self.prefix + name, "passed": passed, "detail": detail})
        print(f"{'PASS' if passed else 'FAIL'}  {self.prefix}{name}" + (f"  ({detail})" if detail else ""), flush=True)
        return passed

    @property
    def failed(self):
        return [c for c in self.checks if not c["passed"]]

    def write(self, path, append=False):
        """Writes results.json; with `append`, after the checks an earlier judge already wrote there."""
        earlier = (load_json(path) or {}).get("checks", []) if append else []
        everything = earlier + self.checks
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"checks": everything}, f, indent=1)
        return everything

    def finish(self, path, label, append=False):
        """Writes results.json, prints '<label> -- N of M checks passed' and returns the exit status (1 if any failed)."""
        everything = self.write(path, append)
        failed = sum(1 for c in everything if not c["passed"])
        print(f"{label} -- {len(everything) - failed} of {len(everything)} checks passed")
        return 1 if failed else 0


def timeouts_by_label(text):
    """Parses a guest's timeout log, one 'LABEL: what timed out' line per timeout, into {label: [line, ...]}."""
    result = {}
    for line in text.splitlines():
        label, sep, _ = line.partition(": ")
        if sep and line.strip():
            result.setdefault(label.strip(), []).append(line.strip())
    return result


def depends_on(timeouts, *labels):
    """The timeouts among `labels` (for Judge.check's `timeouts`)."""
    return [line for label in labels for line in timeouts.get(label, [])]


# ---- reading results ----------------------------------------------------------------------------------------------

def read(path, default=""):
    """A text file's content, or `default` when it is missing (a missing result fails the check that reads it)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def load_json(path):
    """A JSON file, or None when it is missing or malformed."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def last_json_line(text):
    """The last line of `text` as JSON (tools print one report line after their log), or None."""
    lines = text.strip().splitlines()
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


def json_lines(text):
    """Every line of `text` that is a JSON object (the frontend's per-frame records), in order."""
    records = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


def key_values(text):
    """'name k=v k=v' lines (a guest's per-client records) as {name: {k: v}}."""
    rows = {}
    for line in text.splitlines():
        if line.strip():
            name, *pairs = line.split()
            rows[name] = dict(p.split("=", 1) for p in pairs if "=" in p)
    return rows


# ---- the guest kernel's log ---------------------------------------------------------------------------------------

# One pattern for every kind of kernel splat: WARN and BUG (with soft lockups, sleeping in atomic context, bad page
# state), oopses and their call traces, the sanitizers (UBSAN, KASAN), refcount_t saturation, the hung-task detector
# and list corruption (lib/list_debug.c). Any line of a guest's dmesg that matches fails the check that reads it.
KERNEL_SPLAT = re.compile(
    r"\bWARNING:|\bBUG:|kernel BUG at|\bOops\b|Call Trace:|\bUBSAN:|\bKASAN\b|\brefcount_t:|hung_task|"
    r"blocked for more than \d+ seconds|\blist_(?:add|del) corruption|general protection fault|use-after-free|"
    r"double free|sleeping function called from invalid context|Bad page state|Unable to handle kernel")


def splats(text):
    """The lines of a kernel log that show a splat."""
    return [line.strip() for line in text.splitlines() if KERNEL_SPLAT.search(line)]


# ---- v4l2-compliance ----------------------------------------------------------------------------------------------

TOTALS = re.compile(r"Total for .*?: (\d+), Succeeded: (\d+), Failed: (\d+), Warnings: (\d+)")
TEST_LINE = re.compile(r"^\s*test (.+): (OK|FAIL|OK \(Not Supported\))\s*$")
FAIL_LINE = re.compile(r"^\s*fail: (.+?)\s*$")


@dataclass
class Compliance:
    """A v4l2-compliance run: its totals, per failed test the 'fail:' lines printed before its FAIL, and how many FAIL
    lines it printed (a device with several inputs runs some tests once per input)."""
    tests: int
    succeeded: int
    failed: int
    warnings: int
    failures: dict = field(default_factory=dict)
    fail_lines: int = 0

    def unexplained(self, known):
        """The failures not among `known` (a failures dict, e.g. KnownFailures.failures): every failed test must be a
        known one, and every fail line printed for it a known line of that test."""
        bad = []
        for test, lines in self.failures.items():
            allowed = known.get(test)
            if allowed is None:
                bad.append(f"{test}: FAIL ({'; '.join(lines) or 'no fail line'})")
            else:
                bad += [f"{test}: {line}" for line in lines if line not in allowed]
        return bad

    def consistent(self):
        """The totals count exactly the FAIL lines printed (a failure outside a test would hide here)."""
        return self.failed == self.fail_lines and self.tests == self.succeeded + self.failed


def compliance_failures(text):
    """{test: [fail lines]} for every test v4l2-compliance reported as FAIL; a fail line belongs to the next test line."""
    failures, pending = {}, []
    for line in text.splitlines():
        if m := FAIL_LINE.match(line):
            pending.append(m.group(1))
        elif m := TEST_LINE.match(line):
            if m.group(2) == "FAIL":
                failures.setdefault(m.group(1), []).extend(pending)
            pending = []
    if pending:
        failures.setdefault("(fail lines after the last test)", []).extend(pending)
    return failures


def parse_compliance(text):
    """A v4l2-compliance log as Compliance, or None when it has no totals line (the tool did not finish)."""
    m = TOTALS.search(text)
    if not m:
        return None
    tests, ok, failed, warnings = map(int, m.groups())
    fail_lines = sum(1 for line in text.splitlines() if (t := TEST_LINE.match(line)) and t.group(2) == "FAIL")
    return Compliance(tests, ok, failed, warnings, compliance_failures(text), fail_lines)


def known_compliance_failures(series):
    """The tool's recorded false failures on a guest kernel series: tests/e2e/known-failures/v4l2-compliance-SERIES.txt
    is the fail and FAIL lines vivid (the kernel's own test driver) gets from the same v4l2-compliance on that kernel;
    its header says how it was recorded. {test: [fail lines]}."""
    path = os.path.join(HERE, "known-failures", f"v4l2-compliance-{series}.txt")
    text = read(path, None)
    if text is None:
        raise FileNotFoundError(f"no recorded v4l2-compliance failures for kernel {series}: {path}")
    return compliance_failures("\n".join(l for l in text.splitlines() if not l.startswith("#")))


def judge_compliance(text, series):
    """(passed, detail): the run finished, its totals agree with its FAIL lines, and every failure is one of the tool's
    recorded false failures on this kernel series."""
    c = parse_compliance(text)
    if c is None:
        return False, "no totals line (v4l2-compliance did not finish; see its log)"
    try:
        known = known_compliance_failures(series)
    except FileNotFoundError as e:
        return False, str(e)
    bad = c.unexplained(known)
    detail = (f"{c.succeeded}/{c.tests} succeeded, {c.failed} failed ({c.failed - len(bad)} of them recorded false "
              f"failures of v4l-utils on {series}), {c.warnings} warnings")
    if not c.consistent():
        detail += f"; totals say {c.failed} of {c.tests} failed and {c.succeeded} succeeded, but {c.fail_lines} FAIL lines"
    if bad:
        detail += "; not recorded: " + " | ".join(bad[:5])
    return not bad and c.consistent(), detail


# ---- frames -------------------------------------------------------------------------------------------------------

# What a frame is, by the tool that classified it: spectrum-camera verify-frames ("pattern", "inexact", "black",
# "other") and spectrum-camera-frontend ("test-pattern", "image", "black"). Real frames come from a camera.
REAL = {"pattern", "test-pattern", "image"}
LETTER = {"pattern": "P", "test-pattern": "T", "image": "I", "black": "B", "inexact": "X", "other": "?"}


@dataclass
class Run:
    """A run of frames of one class: the class, the index of its first frame, how many."""
    cls: str
    first: int
    count: int


def runs(classes):
    """Consecutive frames of one class, in order."""
    result = []
    for i, c in enumerate(classes):
        if result and result[-1].cls == c:
            result[-1].count += 1
        else:
            result.append(Run(c, i, 1))
    return result


def describe(classes, limit=100):
    """The classes as runs, one letter and a count each ('B30 P110 B90'), cut at `limit` characters."""
    text = " ".join(f"{LETTER.get(r.cls, '?')}{r.count}" for r in runs(classes))
    return text if len(text) <= limit else text[:limit] + "..."


def shape(classes):
    """The classes of the runs, in order (['black', 'pattern', 'black', 'pattern'])."""
    return [r.cls for r in runs(classes)]


@dataclass
class Turn:
    """Whether a window of frames turned to one class and stayed so (see becomes)."""
    ok: bool
    first: int | None    # index of the first frame of the class (None: never)
    relapse: int | None  # index of the first frame of another class after that (None: none)
    detail: str


def becomes(classes, target, within):
    """The frames turn to `target` within the first `within` frames and every later frame is `target` too; at least
    one frame of `target` is required. Frames before the turn may be anything (buffers filled before the change)."""
    first = next((i for i, c in enumerate(classes) if c == target), None)
    relapse = None if first is None else next((i for i in range(first, len(classes)) if classes[i] != target), None)
    ok = first is not None and first <= within and relapse is None
    where = "never" if first is None else f"at frame {first}"
    detail = f"{len(classes)} frames {describe(classes)}; first {target} {where}" + (
        f", then {classes[relapse]} at frame {relapse}" if relapse is not None else "")
    return Turn(ok, first, relapse, detail)


def window(records, start, end):
    """The frame records (spectrum-camera-frontend's JSON lines, {"event": "frame", "class": ...}) after the mark
    `start` and before the mark `end` ({"event": "mark", "label": ...}); None as `start` is the first frame, None as
    `end` the last. No frame at all when either mark is missing: a window its marks do not bound judges nothing."""
    labels = [r.get("label") for r in records if r.get("event") == "mark"]
    if (start is not None and start not in labels) or (end is not None and end not in labels):
        return []
    inside = start is None
    result = []
    for r in records:
        if r.get("event") == "mark":
            if r.get("label") == start:
                inside = True
            elif r.get("label") == end and inside:
                break
        elif inside and r.get("event") == "frame":
            result.append(r)
    return result


def verify_frames(sidecar, path, fourcc, size, allow_black=False):
    """spectrum-camera verify-frames --json on a raw capture: {frames, verified, ok, ...; with allow_black classes and
    numbers}. A tool that printed no report gives ok False and its stderr as error."""
    r = subprocess.run(["dotnet", sidecar, "verify-frames", "--format", fourcc, "--size", size, "--json", path]
                       + (["--allow-black"] if allow_black else []), capture_output=True, text=True, check=False)
    report = last_json_line(r.stdout)
    return report if report is not None else {"frames": 0, "verified": 0, "ok": False, "error": r.stderr.strip()[-300:]}


# ---- buffers and sequence numbers ---------------------------------------------------------------------------------

# v4l2-ctl --verbose: one line per dequeued buffer (v4l-utils 1.22's "cap dqbuf: I seq: S bytesused: B ts: SEC.USEC").
DQBUF = re.compile(r"cap dqbuf:\s*(\d+) seq:\s*(\d+) bytesused: (\d+) ts: (\d+)\.(\d+)(.*)")


@dataclass
class Dequeued:
    """One buffer v4l2-ctl dequeued: sequence, bytesused, timestamp (the guest's CLOCK_MONOTONIC) and the ERROR flag."""
    seq: int
    bytes: int
    ts: int
    error: bool


def dequeued(text):
    """Every buffer of a v4l2-ctl --verbose log, in order."""
    return [Dequeued(int(m.group(2)), int(m.group(3)), int(m.group(4)) * 1_000_000_000 + int(m.group(5)) * 1000,
                     "error" in m.group(6)) for m in map(DQBUF.search, text.splitlines()) if m]


@dataclass
class Sequence:
    """A stream's sequence numbers: the device numbers every frame period, so a number skipped is a period whose frame
    did not reach the client (no buffer was queued in time)."""
    seqs: list

    @property
    def strictly_increasing(self):
        return all(b > a for a, b in zip(self.seqs, self.seqs[1:]))

    @property
    def dropped(self):
        """Frame periods between the first and the last frame that delivered no frame."""
        return self.seqs[-1] - self.seqs[0] + 1 - len(self.seqs) if self.seqs else 0

    @property
    def dropped_percent(self):
        periods = self.seqs[-1] - self.seqs[0] + 1 if self.seqs else 0
        return 100.0 * self.dropped / periods if periods else 0.0

    def steps_at(self, indices):
        """The step in sequence number onto each frame index (1: no period lost there)."""
        return [self.seqs[i] - self.seqs[i - 1] for i in indices if 0 < i < len(self.seqs)]

    def describe(self):
        if not self.seqs:
            return "no frames"
        return (f"seq {self.seqs[0]}..{self.seqs[-1]}, {'strictly increasing' if self.strictly_increasing else 'NOT increasing'}, "
                f"{self.dropped} periods dropped ({self.dropped_percent:.1f} %)")


# ---- clocks -------------------------------------------------------------------------------------------------------

def clock_offset(markers):
    """(offset, spread) relating a guest's CLOCK_MONOTONIC to the host's: guest = host - offset. Each console marker
    reached the host after the guest wrote it, so host - guest of each bounds the offset from above: the smallest is
    the estimate (host times mapped with it are no later than they really were); spread is the median's distance from
    it, in ns. None when there is no marker."""
    offsets = sorted(m["host_ns"] - m["guest_ns"] for m in markers)
    if not offsets:
        return None
    return offsets[0], offsets[len(offsets) // 2] - offsets[0]
