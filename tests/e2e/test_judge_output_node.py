"""Unit tests of the output-node phase's judge (tests/e2e/judge_output_node.py) on a run recorded on 6.1
(tests/e2e/testdata/output-node/, README.md there) and on copies of it changed as a regression would change them.
Run by tests/e2e/unit_tests.py, which tools/test.sh counts."""
import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest

import judge_output_node as jon

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "output-node")


class RecordedRun:
    """A scratch copy of the recorded run, with the build's outputs the recording leaves out (an empty build log and a
    stand-in module file), judged on demand."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="judge-output-node-")
        self.out = os.path.join(self.dir, "out")
        shutil.copytree(DATA, self.out)
        os.makedirs(os.path.join(self.out, "module"))
        open(os.path.join(self.out, "module", "virtio_media_camera.ko"), "w").close()
        open(os.path.join(self.out, "module-build.log"), "w").close()

    def path(self, *parts):
        return os.path.join(self.out, *parts)

    def write(self, text, *parts):
        with open(self.path(*parts), "w", encoding="utf-8") as f:
            f.write(text)

    def frames(self):
        with open(self.path("frames.jsonl"), encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def set_frames(self, records):
        self.write("".join(json.dumps(r) + "\n" for r in records), "frames.jsonl")

    def judge(self):
        """(exit status, {check name without its prefix: passed})."""
        with contextlib.redirect_stdout(io.StringIO()):
            rc = jon.main([self.out, "6.1"])
        with open(self.path("results.json"), encoding="utf-8") as f:
            checks = json.load(f)["checks"]
        return rc, {c["name"].removeprefix("output-node 6.1: "): c["passed"] for c in checks}

    def host_seconds(self, event):
        """When the host saw the guest's marker EVENT, on the frontend's clock (s)."""
        with open(self.path("timeline.json"), encoding="utf-8") as f:
            t = json.load(f)
        return next((m["host_ns"] - t["frontend_start_ns"]) / 1e9 for m in t["markers"] if m["event"] == event)

    def close(self):
        shutil.rmtree(self.dir)


class OutputNodeJudgeTests(unittest.TestCase):
    def setUp(self):
        self.run = RecordedRun()
        self.addCleanup(self.run.close)

    def failed(self):
        rc, checks = self.run.judge()
        return rc, sorted(name for name, passed in checks.items() if not passed)

    def test_the_recorded_run_passes_all_44_checks(self):
        rc, checks = self.run.judge()
        self.assertEqual((rc, len(checks), [n for n, p in checks.items() if not p]), (0, 44, []))

    def test_black_frames_while_ffmpeg_writes_fail_its_check(self):
        start, end = self.run.host_seconds("ffmpeg-start"), self.run.host_seconds("ffmpeg-end")
        frames = [dict(f, **{"class": "black"}) if f.get("event") == "frame" and start <= f["t_ms"] / 1000 <= end
                  else f for f in self.run.frames()]
        self.run.set_frames(frames)
        rc, failed = self.failed()
        self.assertEqual(rc, 1)
        self.assertEqual(len(failed), 1)
        self.assertIn("the viewer sees ffmpeg's frames", failed[0])

    def test_one_real_frame_before_the_first_allow_fails(self):
        frames = self.run.frames()
        first = next(i for i, f in enumerate(frames) if f.get("event") == "frame")
        frames[first]["class"] = "image"
        self.run.set_frames(frames)
        _, failed = self.failed()
        self.assertEqual(failed, ["the viewer sees only black frames before the first 'ctl allow'"])

    def test_a_camera_left_open_after_the_deny_fails(self):
        self.run.write("timeout users=1\n", "guest", "results", "camera-closed.txt")
        self.run.write("users=1 ffmpeg=612\n", "guest", "results", "camera-after.txt")
        _, failed = self.failed()
        self.assertEqual(failed, ["agent: exits 0 on SIGTERM, leaving the camera closed and no ffmpeg",
                                  "agent: the camera is closed within 30 s of 'ctl deny'"])

    def test_an_event_with_the_old_value_fails(self):
        self.run.write("10.1: event 0, pending 0: ctrl: frames_wanted\n\tvalue: 0 0x0\n",
                       "guest", "results", "event-on.txt")
        _, failed = self.failed()
        self.assertEqual(len(failed), 1)
        self.assertIn("gets the event with value 1", failed[0])

    def test_a_compliance_failure_the_tool_is_not_known_for_fails(self):
        log = self.run.path("guest", "results", "compliance.log")
        with open(log, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("\ttest VIDIOC_G/S_PARM: OK",
                            "\t\tfail: v4l2-test-formats.cpp(1330): writebuffers out of range\n\ttest VIDIOC_G/S_PARM: FAIL")
        text = text.replace("Succeeded: 44, Failed: 1", "Succeeded: 43, Failed: 2")
        self.run.write(text, "guest", "results", "compliance.log")
        _, failed = self.failed()
        self.assertEqual(len(failed), 1)
        self.assertIn("v4l2-compliance on the output node", failed[0])

    def test_a_guest_that_left_no_results_fails_every_check_of_them_without_an_exception(self):
        shutil.rmtree(self.run.path("guest"))
        rc, checks = self.run.judge()
        host_only = ("guest driver builds", "every host process", "the viewer", "agent: the viewer")
        self.assertEqual(rc, 1)
        self.assertEqual(len(checks), 44)
        self.assertEqual([n for n, p in checks.items() if p != n.startswith(host_only)], [])


if __name__ == "__main__":
    unittest.main()
