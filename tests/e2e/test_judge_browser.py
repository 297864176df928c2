"""Unit tests of the browser phase's judge (tests/e2e/judge_browser.py) on the test page's reports and the host
driver's timeline recorded from a real run (tests/e2e/testdata/browser/, README.md there). Run by
tests/e2e/unit_tests.py, which tools/test.sh counts."""
import copy
import os
import unittest

import judge
import judge_browser as jb

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "browser")


def recorded(name):
    return judge.load_json(os.path.join(DATA, name))


class Recorded:
    """One browser's recorded report with the host's deny and allow steps on the guest's clock (ms)."""

    def __init__(self, browser):
        self.report = recorded(f"page-{browser}.json")
        timeline = recorded("timeline.json")
        offset, _ = judge.clock_offset(timeline["markers"])
        steps = {s["action"]: s for s in timeline["steps"] if s["browser"] == browser}
        self.deny_return = (steps["deny"]["return_ns"] - offset) / 1e6
        self.allow_start = (steps["allow"]["start_ns"] - offset) / 1e6
        self.allow_return = (steps["allow"]["return_ns"] - offset) / 1e6
        self.service = self.report["steps"]["service"]["frames"]

    def frames(self, step):
        return self.report["steps"][step]["frames"]


class AdvancingTests(unittest.TestCase):
    def test_the_recorded_firefox_call_drew_frame_10_twice_and_never_went_back(self):
        # Before the deny: after the allow the camera service starts the pattern again from a lower number.
        nums = [f["n"] for f in Recorded("firefox").service if f["cls"] == "pattern" and f.get("phase") == "allowed"]
        self.assertEqual(jb.advancing(nums), (True, 1))

    def test_a_number_going_back_fails(self):
        self.assertEqual(jb.advancing([3, 5, 4, 8]), (False, 0))

    def test_numbers_strictly_increasing_pass_with_no_repeat(self):
        self.assertEqual(jb.advancing([3, 5, 9]), (True, 0))


class NumberRateTests(unittest.TestCase):
    def test_recorded_captures_advance_30_numbers_a_second_of_capture_time(self):
        for browser in ("chromium", "firefox"):
            for size in ("640x480", "1280x720"):
                with self.subTest(browser=browser, size=size):
                    rate = jb.number_rate(Recorded(browser).frames(f"pattern-{size}"))
                    self.assertLessEqual(abs(rate - 30), 30 * jb.RATE_TOLERANCE, rate)

    def test_one_stale_capture_time_does_not_move_the_rate(self):
        # Chromium stamped the first frame of this capture (another run's) 0.4 s early: from the two ends alone the
        # numbers advance under 27 a second, the median of the pairwise rates stays at 30.
        frames = recorded("chromium-stale-first-capture.json")
        first, last = frames[0], frames[-1]
        ends = 1000.0 * (last["n"] - first["n"]) / (last["captured"] - first["captured"])
        self.assertLess(ends, 27)
        self.assertAlmostEqual(jb.number_rate(frames), 30, delta=1)

    def test_a_camera_at_15_fps_is_caught(self):
        frames = copy.deepcopy(Recorded("firefox").frames("pattern-640x480"))
        for f in frames:
            f["n"] //= 2
        self.assertLess(jb.number_rate(frames), 30 * (1 - jb.RATE_TOLERANCE))

    def test_without_capture_times_the_drawing_time_is_used(self):
        frames = copy.deepcopy(Recorded("firefox").frames("pattern-640x480"))
        for f in frames:
            f["captured"] = None
        self.assertEqual([jb.when(f) for f in frames], [f["t"] for f in frames])
        self.assertIsNotNone(jb.number_rate(frames))


class DenyAllowTests(unittest.TestCase):
    def test_recorded_deny_turns_black_and_allow_brings_the_pattern_back(self):
        for browser in ("chromium", "firefox"):
            with self.subTest(browser=browser):
                r = Recorded(browser)
                ok, figures = jb.deny_turns_black(r.service, r.deny_return, r.allow_start)
                self.assertTrue(ok, figures)
                self.assertLessEqual(figures["last_real_captured_ms"], 0)
                ok, figures = jb.allow_turns_real(r.service, r.allow_start, r.allow_return)
                self.assertTrue(ok, figures)

    def test_a_real_frame_captured_over_a_second_after_the_deny_fails_it(self):
        r = Recorded("chromium")
        frames = copy.deepcopy(r.service)
        late = next(f for f in frames if f["cls"] == "black" and jb.when(f) > r.deny_return + jb.DENY_BLACK_MS)
        late.update(cls="pattern", n=999)
        ok, _ = jb.deny_turns_black(frames, r.deny_return, r.allow_start)
        self.assertFalse(ok)

    def test_a_real_frame_between_black_ones_fails_the_deny_even_within_the_second(self):
        r = Recorded("firefox")
        frames = copy.deepcopy(r.service)
        denied = [f for f in frames if r.deny_return <= jb.when(f) < r.allow_start]
        denied[1].update(cls="pattern", n=999)
        self.assertEqual(denied[0]["cls"], "black")
        self.assertLess(jb.when(denied[1]) - r.deny_return, jb.DENY_BLACK_MS)
        ok, _ = jb.deny_turns_black(frames, r.deny_return, r.allow_start)
        self.assertFalse(ok)

    def test_a_call_that_never_turns_black_fails_the_deny(self):
        r = Recorded("firefox")
        frames = [f for f in copy.deepcopy(r.service) if f["cls"] != "black"]
        ok, figures = jb.deny_turns_black(frames, r.deny_return, r.allow_start)
        self.assertFalse(ok)
        self.assertIsNone(figures["first_black_captured_ms"])

    def test_an_allow_slower_than_the_limit_fails(self):
        r = Recorded("chromium")
        ok, figures = jb.allow_turns_real(r.service, r.allow_start, r.allow_return - jb.ALLOW_REAL_MS)
        self.assertFalse(ok, figures)


class DeviceTests(unittest.TestCase):
    def test_the_black_camera_has_the_test_pattern_cameras_capabilities_but_not_its_ids(self):
        for browser in ("chromium", "firefox"):
            with self.subTest(browser=browser):
                steps = Recorded(browser).report["steps"]
                pattern, black = steps["pattern-640x480"], steps["black-640x480"]
                self.assertNotEqual(pattern["capabilities"]["deviceId"], black["capabilities"]["deviceId"])
                self.assertEqual(jb.capabilities(pattern), jb.capabilities(black))
                other = copy.deepcopy(black)
                other["capabilities"]["width"]["max"] = 1280
                self.assertNotEqual(jb.capabilities(pattern), jb.capabilities(other))

    def test_settings_must_be_the_size_at_30_fps(self):
        step = Recorded("firefox").report["steps"]["pattern-1280x720"]
        self.assertTrue(jb.settings_match(step, 1280, 720)[0])
        self.assertFalse(jb.settings_match(step, 640, 480)[0])
        slow = copy.deepcopy(step)
        slow["settings"]["frameRate"] = 15
        self.assertFalse(jb.settings_match(slow, 1280, 720)[0])

    def test_labels_match_the_card_name_alone_or_with_a_usb_id(self):
        devices = [{"label": "Spectrum Camera"}, {"label": "Spectrum Black (1d6b:0104)"}]
        self.assertEqual(jb.label_of(devices, "Spectrum Camera"), "Spectrum Camera")
        self.assertEqual(jb.label_of(devices, "Spectrum Black"), "Spectrum Black (1d6b:0104)")
        self.assertIsNone(jb.label_of(devices, "Spectrum"))


if __name__ == "__main__":
    unittest.main()
