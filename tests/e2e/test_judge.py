"""Unit tests of the end-to-end judges' library (tests/e2e/judge.py) and the console reader the phase drivers share
(tests/e2e/guest_console.py), on artifacts recorded from real runs (tests/e2e/testdata/, README.md there says where
each came from). Run by tests/e2e/unit_tests.py, which tools/test.sh counts."""
import json
import os
import tempfile
import unittest

import judge
from guest_console import ConsoleMarkers

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")


def data(*parts):
    return judge.read(os.path.join(DATA, *parts), None)


def records(name):
    return judge.json_lines(data("camera-service", name))


class JudgeTests(unittest.TestCase):
    def test_check_records_name_with_prefix_verdict_and_detail(self):
        j = judge.Judge("phase: ")
        self.assertTrue(j.check("at most 1 thing", True, "0 things"))
        self.assertFalse(j.check("exactly 2 things", 0, "3 things"))
        self.assertEqual(j.checks, [{"name": "phase: at most 1 thing", "passed": True, "detail": "0 things"},
                                    {"name": "phase: exactly 2 things", "passed": False, "detail": "3 things"}])
        self.assertEqual(len(j.failed), 1)

    def test_a_timeout_the_check_depends_on_fails_it_whatever_it_measured(self):
        j = judge.Judge()
        self.assertFalse(j.check("black within 3 frames", True, "first black at frame 1",
                                 timeouts=["killed: mark not recorded by both frontends within 10 s"]))
        self.assertEqual(j.checks[0]["detail"],
                         "timed out: killed: mark not recorded by both frontends within 10 s; first black at frame 1")

    def test_timeouts_are_found_by_the_label_of_the_step_they_belong_to(self):
        text = ("denied-a: no black frame in a.jsonl within 30 s\n"
                "killed: mark not recorded by both frontends within 10 s\n"
                "service-2: no 'operator socket' in service-2.log within 60 s\n")
        timeouts = judge.timeouts_by_label(text)
        self.assertEqual(sorted(timeouts), ["denied-a", "killed", "service-2"])
        self.assertEqual(judge.depends_on(timeouts, "kill", "killed", "restart"),
                         ["killed: mark not recorded by both frontends within 10 s"])
        self.assertEqual(judge.depends_on(timeouts, "both", "end"), [])

    def test_finish_appends_to_the_checks_an_earlier_judge_wrote_and_fails_on_any(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "results.json")
            first = judge.Judge("a: ")
            first.check("one", False)
            self.assertEqual(first.finish(path, "a"), 1)
            second = judge.Judge("b: ")
            second.check("two", True)
            self.assertEqual(second.finish(path, "b", append=True), 1)
            with open(path, encoding="utf-8") as f:
                names = [c["name"] for c in json.load(f)["checks"]]
            self.assertEqual(names, ["a: one", "b: two"])


class KernelSplatTests(unittest.TestCase):
    """The one splat pattern on real kernel logs: every kind of splat the judges must catch, and none of the lines a
    healthy guest (boot, vivid, the driver refusing a hostile device's data) prints."""

    def test_recorded_splats_of_every_kind_are_caught(self):
        for name, marker in [("warn", "WARNING:"), ("warn", "Call Trace:"), ("refcount", "refcount_t:"),
                             ("list", "list_add corruption"), ("list", "kernel BUG at"), ("oops", "Oops"),
                             ("oops", "BUG: kernel NULL pointer dereference"), ("hung", "blocked for more than"),
                             ("hung", "hung_task"), ("ubsan", "UBSAN:"), ("kasan", "KASAN")]:
            with self.subTest(splat=name, marker=marker):
                found = judge.splats(data("splats", f"{name}.txt"))
                self.assertTrue(any(marker in line for line in found), f"{marker} not caught in {name}.txt: {found}")

    def test_vivid_call_traces_in_a_real_guest_log_are_caught_and_nothing_else(self):
        text = data("dmesg", "host-camera-6.1.txt")
        found = judge.splats(text)
        self.assertEqual(len(found), text.count("Call Trace:"))
        self.assertEqual(len(found), 14)
        self.assertTrue(all(line.endswith("Call Trace:") for line in found))

    def test_the_drivers_refusals_of_hostile_data_are_not_splats(self):
        text = data("dmesg", "hostile-refusals-6.1.txt")
        self.assertGreater(text.count("virtio_media_camera"), 100)
        self.assertEqual(judge.splats(text), [])


class ComplianceTests(unittest.TestCase):
    def test_driver_on_6_1_fails_only_the_recorded_nv12_description_skew(self):
        text = data("compliance", "driver-6.1-streaming.txt")
        c = judge.parse_compliance(text)
        self.assertEqual((c.tests, c.succeeded, c.failed), (52, 51, 1))
        self.assertTrue(c.consistent())
        self.assertEqual(list(c.failures), ["VIDIOC_ENUM_FMT/FRAMESIZES/FRAMEINTERVALS"])
        ok, detail = judge.judge_compliance(text, "6.1")
        self.assertTrue(ok, detail)

    def test_vivid_passes_against_its_own_recorded_lists(self):
        for series in ("6.1", "6.12"):
            with self.subTest(series=series):
                ok, detail = judge.judge_compliance(data("compliance", f"vivid-{series}-streaming.txt"), series)
                self.assertTrue(ok, detail)

    def test_driver_on_6_12_fails_only_recorded_false_failures_and_more_than_on_6_1(self):
        text = data("compliance", "driver-6.12-plain.txt")
        ok, detail = judge.judge_compliance(text, "6.12")
        self.assertTrue(ok, detail)
        ok, detail = judge.judge_compliance(text, "6.1")
        self.assertFalse(ok)
        self.assertIn("not recorded", detail)

    def test_a_failure_not_recorded_fails_even_in_a_known_test(self):
        text = data("compliance", "driver-6.1-streaming.txt").replace(
            "\t\tfail: v4l2-test-formats.cpp(263)", "\t\tfail: v4l2-test-formats.cpp(999): something else\n"
            "\t\tfail: v4l2-test-formats.cpp(263)")
        ok, detail = judge.judge_compliance(text, "6.1")
        self.assertFalse(ok)
        self.assertIn("v4l2-test-formats.cpp(999): something else", detail)

    def test_an_unfinished_run_or_totals_that_miscount_fail(self):
        text = data("compliance", "driver-6.1-streaming.txt")
        self.assertFalse(judge.judge_compliance(text.split("Total for")[0], "6.1")[0])
        self.assertFalse(judge.judge_compliance(text.replace("Failed: 1,", "Failed: 2,"), "6.1")[0])


class FrameTests(unittest.TestCase):
    def test_runs_shape_and_description(self):
        classes = ["black"] * 2 + ["pattern"] * 3 + ["black"] + ["pattern"]
        self.assertEqual([(r.cls, r.first, r.count) for r in judge.runs(classes)],
                         [("black", 0, 2), ("pattern", 2, 3), ("black", 5, 1), ("pattern", 6, 1)])
        self.assertEqual(judge.shape(classes), ["black", "pattern", "black", "pattern"])
        self.assertEqual(judge.describe(classes), "B2 P3 B1 P1")

    def test_becomes_judges_every_frame_after_the_turn_not_only_the_ends(self):
        # A relapse in the middle: first turn within the limit and the last five frames of the class, as the
        # first-and-last-five rule accepted.
        classes = ["black", "image", "image", "black", "image", "image", "image", "image", "image"]
        t = judge.becomes(classes, "image", 3)
        self.assertFalse(t.ok)
        self.assertEqual((t.first, t.relapse), (1, 3))
        self.assertTrue(judge.becomes(classes[3:], "image", 3).ok)
        self.assertFalse(judge.becomes(["black"] * 5 + ["image"], "image", 3).ok)
        self.assertFalse(judge.becomes([], "black", 3).ok)

    def test_recorded_deny_turns_vm_a_black_at_once(self):
        a = records("a.jsonl")
        t = judge.becomes([f["class"] for f in judge.window(a, "denied-a", "allow-a")], "black", 3)
        self.assertTrue(t.ok, t.detail)
        self.assertEqual(t.first, 0)

    def test_recorded_lone_black_frames_in_vm_b_are_seen(self):
        # vm-b during vm-a's deny and allow, recorded on a loaded host: two lone black frames among 354.
        b = records("b.jsonl")
        classes = [f["class"] for f in judge.window(b, "deny-a", "allowed-a")]
        self.assertEqual(len(classes), 354)
        self.assertEqual(classes.count("black"), 2)
        self.assertEqual(judge.describe(classes), "I170 B1 I128 B1 I54")

    def test_recorded_kill_shows_the_frozen_frame_for_five_frames(self):
        a = records("a.jsonl")
        t = judge.becomes([f["class"] for f in judge.window(a, "killed", "restart")], "black", 3)
        self.assertFalse(t.ok)
        self.assertEqual(t.first, 5)

    def test_a_window_needs_both_marks(self):
        a = records("a.jsonl")
        self.assertEqual(judge.window(a, "killed", "no-such-mark"), [])
        self.assertEqual(judge.window(a, "no-such-mark", None), [])
        self.assertEqual(len(judge.window(a, None, None)), sum(1 for r in a if r.get("event") == "frame"))


class SequenceTests(unittest.TestCase):
    def test_recorded_capture_sequence(self):
        frames = judge.dequeued(data("frames", "faults-svc-dqbuf.log"))
        self.assertEqual(len(frames), 240)
        seq = judge.Sequence([f.seq for f in frames])
        self.assertTrue(seq.strictly_increasing)
        self.assertEqual(seq.seqs[0], 0)
        self.assertFalse(any(f.error for f in frames))
        self.assertEqual(seq.dropped, seq.seqs[-1] + 1 - 240)

    def test_dropped_periods_and_steps(self):
        seq = judge.Sequence([0, 1, 2, 4, 5, 9])
        self.assertEqual(seq.dropped, 4)
        self.assertAlmostEqual(seq.dropped_percent, 40.0)
        self.assertEqual(seq.steps_at([1, 3, 5]), [1, 2, 4])
        self.assertFalse(judge.Sequence([0, 2, 2]).strictly_increasing)

    def test_dequeued_reads_the_error_flag(self):
        text = ("cap dqbuf: 0 seq:      7 bytesused: 153600 ts: 41.520301 delta: 33.3 ms fps: 30.00 (ts-monotonic, ts-src-eof)\n"
                "cap dqbuf: 1 seq:      8 bytesused: 153600 ts: 41.553634 delta: 33.3 ms (error, ts-monotonic, ts-src-eof)\n")
        frames = judge.dequeued(text)
        self.assertEqual([(f.seq, f.bytes, f.ts, f.error) for f in frames],
                         [(7, 153600, 41_520_301_000, False), (8, 153600, 41_553_634_000, True)])

    def test_recorded_classes_of_the_service_kill(self):
        report = json.loads(data("frames", "faults-svc-verify.json"))
        self.assertEqual(report["frames"], 240)
        shape = judge.shape(report["classes"])
        self.assertIn(shape, (["pattern", "black", "pattern"], ["black", "pattern", "black", "pattern"]))


class ConsoleTests(unittest.TestCase):
    def test_markers_are_read_across_partial_lines_with_the_host_time_of_the_read(self):
        text = data("console", "permission-console.txt")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "console.log")
            follower = ConsoleMarkers(path, "PERM-E2E")
            self.assertEqual(follower.poll(), [])
            cut = len(text) // 2
            with open(path, "w", encoding="utf-8") as f:
                f.write(text[:cut])
            first = follower.poll()
            with open(path, "a", encoding="utf-8") as f:
                f.write(text[cut:])
            second = follower.poll()
        everything = first + second
        self.assertEqual(len(everything), text.count("PERM-E2E: perm"))
        self.assertEqual(everything[0]["event"], "perm-ready")
        self.assertEqual(everything[-1]["event"], "perm-end")
        self.assertIn("rc", everything[-1])
        counts = [m["frames"] for m in everything if m["event"] == "perm"]
        self.assertEqual(counts, sorted(counts))
        self.assertTrue(all(m["host_ns"] > 0 and m["guest_ns"] > 0 for m in everything))

    def test_clock_offset_is_the_smallest_bound(self):
        markers = [{"host_ns": 1000, "guest_ns": 100}, {"host_ns": 2000, "guest_ns": 1050},
                   {"host_ns": 3000, "guest_ns": 2040}]
        self.assertEqual(judge.clock_offset(markers), (900, 50))
        self.assertIsNone(judge.clock_offset([]))


if __name__ == "__main__":
    unittest.main()
