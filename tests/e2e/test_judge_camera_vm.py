"""Unit tests of the camera-VM judge (tests/e2e/judge_camera_vm.py): its known frames, its frame classes on a frame a
real run captured from vivid (tests/e2e/testdata/camera-vm/, README.md there), and its timeline reading on that run's
timeline. Run by tests/e2e/unit_tests.py."""
import os
import tempfile
import unittest

import judge
import judge_camera_vm as camvm

RECORDED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "camera-vm")
W, H = 320, 240


def recorded_vivid_frame():
    with open(os.path.join(RECORDED, "vivid-nv12-320x240.yuv"), "rb") as f:
        return f.read()


def recorded_timeline():
    return judge.load_json(os.path.join(RECORDED, "timeline.json"))


class KnownFramesTests(unittest.TestCase):
    def test_the_known_frames_differ_from_one_another_and_from_black_and_stay_in_limited_range(self):
        frames = [camvm.known_frame(k) for k in range(camvm.KNOWN_FRAMES)]
        self.assertEqual(len(set(frames)), camvm.KNOWN_FRAMES)
        self.assertNotIn(camvm.black_frame("YUYV", W, H), frames)
        for f in frames:
            self.assertEqual(len(f), W * H * 2)
            self.assertTrue(16 <= min(f) and max(f[0::2]) <= 235 and max(f[1::2]) <= 240)

    def test_the_written_file_is_the_known_frames_in_order(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "known.yuyv")
            self.assertEqual(camvm.main(["--write-known", path]), 0)
            frames = camvm.frames_of(path, W * H * 2)
        self.assertEqual(frames, [camvm.known_frame(k) for k in range(camvm.KNOWN_FRAMES)])

    def test_a_frame_is_known_only_byte_for_byte(self):
        changed = bytearray(camvm.known_frame(5))
        changed[W * H] ^= 1
        classes, indices = camvm.classify_known(
            [camvm.black_frame("YUYV", W, H), camvm.known_frame(5), bytes(changed), camvm.known_frame(6)], W, H)
        self.assertEqual(classes, ["black", "known", "other", "known"])
        self.assertEqual(indices, [None, 5, None, 6])


class ColourBarsTests(unittest.TestCase):
    def test_a_frame_the_consumer_got_from_vivid_is_colour_bars(self):
        self.assertEqual(camvm.classify_vivid([recorded_vivid_frame()], W, H), ["bars"])

    def test_black_a_known_frame_and_mirrored_bars_are_not(self):
        frame = bytearray(recorded_vivid_frame())
        for y in range(H):
            frame[y * W:(y + 1) * W] = frame[y * W:(y + 1) * W][::-1]
        known_as_nv12 = camvm.known_frame(3)[:W * H * 3 // 2]
        self.assertEqual(camvm.classify_vivid([camvm.black_frame("NV12", W, H), bytes(frame), known_as_nv12], W, H),
                         ["black", "other", "other"])


class TimelineTests(unittest.TestCase):
    def test_the_idle_window_before_any_capture_holds_only_idle_states(self):
        t = recorded_timeline()
        start, end = camvm.step(t, "idle-1-start"), camvm.step(t, "idle-1-end")
        states, inside = camvm.states_between(t["markers"]["camvm"], start["host_ns"], end["host_ns"])
        self.assertGreaterEqual(inside, 2)
        self.assertTrue(all((s["wanted"], s["vivid"], s["pipeline"]) == (0, 0, 0) for s in states))

    def test_a_window_while_ffmpeg_ran_shows_vivid_open(self):
        t = recorded_timeline()
        start, end = camvm.step(t, "vivid-pipeline-running"), camvm.step(t, "ctl-deny#2")
        states, _ = camvm.states_between(t["markers"]["camvm"], start["host_ns"], end["host_ns"])
        self.assertTrue(any(s["vivid"] > 0 and s["pipeline"] == 2 for s in states))

    def test_a_run_starts_after_a_step_only_from_the_frame_count_the_step_recorded(self):
        classes = ["black"] * 10 + ["known"] * 20 + ["black"] * 5
        self.assertTrue(camvm.starts_after(classes, 1, {"step": "ctl-allow#1", "consumer_frames": 10})[0])
        self.assertFalse(camvm.starts_after(classes, 1, {"step": "ctl-allow#1", "consumer_frames": 11})[0])
        self.assertFalse(camvm.starts_after(classes, 3, {"step": "ctl-deny#1", "consumer_frames": 0})[0], "no such run")
        self.assertFalse(camvm.starts_after(classes, 2, None)[0])


if __name__ == "__main__":
    unittest.main()
