"""Unit tests of the stalled-device judge (tests/e2e/judge_stalled_device.py) on the files a real run left
(tests/e2e/testdata/stalled-device/6.1/, README.md there), and on copies of them changed the way a regression would
change them. Run by tests/e2e/unit_tests.py."""
import os
import shutil
import tempfile
import unittest

import judge
import judge_stalled_device as stalled

RECORDED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "stalled-device", "6.1")
RELOAD = "after a driver reload the device works again (rmmod, insmod, v4l2-ctl --all, 10 frames verified)"


def verdicts(edit=None):
    """Judges a copy of the recorded files, after edit(dir) changed it: {check name: passed}."""
    with tempfile.TemporaryDirectory() as out:
        d = os.path.join(out, "guest", "results", "stalled-device")
        shutil.copytree(RECORDED, d)
        if edit:
            edit(d)
        j = judge.Judge()
        stalled.judge(out, "no-sidecar-needed.dll", j)
        return {c["name"]: c["passed"] for c in j.checks}


def replace_in(d, name, old, new):
    path = os.path.join(d, name)
    text = judge.read(path)
    assert old in text, (name, old)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new))


class StalledDeviceJudgeTests(unittest.TestCase):
    def test_steps_are_read_with_their_two_word_names_values_and_words(self):
        steps = stalled.parse_steps(judge.read(os.path.join(RECORDED, "steps.txt")))
        self.assertEqual(steps["waiter blocked"]["words"], ["D", "vmc_cmd_exec"])
        self.assertEqual(stalled.num(steps["queued killed"], "cs"), 2)
        self.assertEqual(stalled.num(steps["timeout"], "cs"), 518)
        self.assertEqual(stalled.num(steps["after-5"], "rc"), 1)
        self.assertEqual(stalled.num(steps["timeout"], "missing"), -1)

    def test_the_recorded_run_passes_every_check_but_the_reload_whose_capture_is_not_kept(self):
        v = verdicts()
        self.assertEqual(len(v), 9)
        self.assertEqual([name for name, passed in v.items() if not passed], [RELOAD])

    def test_a_killed_waiter_that_takes_5_s_to_go_fails_the_1_s_check(self):
        v = verdicts(lambda d: replace_in(d, "steps.txt", "waiter killed cs=1", "waiter killed cs=500"))
        self.assertFalse(v["killed waiter (its G_FMT unanswered) exits within 1 s of SIGKILL"])

    def test_a_queued_process_that_finished_instead_of_being_killed_fails(self):
        v = verdicts(lambda d: replace_in(d, "steps.txt", "queued exit rc=137", "queued exit rc=0"))
        self.assertFalse(v["killed process queued behind the stalled command exits within 1 s of SIGKILL"])

    def test_an_open_that_waits_out_another_timeout_fails_the_at_once_check(self):
        v = verdicts(lambda d: replace_in(d, "steps.txt", "after-3 rc=1 cs=1", "after-3 rc=1 cs=510"))
        self.assertFalse(v["after the timeout every open fails at once with EIO (5 opens, each within 1 s)"])

    def test_a_timeout_that_came_too_early_fails(self):
        v = verdicts(lambda d: replace_in(d, "steps.txt", "timeout rc=255 cs=518", "timeout rc=255 cs=120"))
        self.assertFalse(v["an unanswered G_FMT fails with ETIMEDOUT after the 5 s timeout (took 5 to 10 s)"])

    def test_a_second_marked_broken_line_fails_the_log_check(self):
        def twice(d):
            line = [l for l in judge.read(os.path.join(d, "dmesg.txt")).splitlines() if "marked broken" in l][0]
            with open(os.path.join(d, "dmesg.txt"), "a", encoding="utf-8") as f:
                f.write(line + "\n")
        v = verdicts(twice)
        self.assertFalse(v["the driver logs the timeout once (device marked broken) and a refusal line for the later "
                           "commands"])

    def test_a_warn_in_the_log_fails_the_splat_check(self):
        def warn(d):
            with open(os.path.join(d, "dmesg.txt"), "a", encoding="utf-8") as f:
                f.write("[   12.000000] WARNING: CPU: 0 PID: 99 at drivers/media/common/videobuf2/videobuf2-core.c\n")
        v = verdicts(warn)
        self.assertFalse(v["no process left in D state; no oops, BUG, WARN or other splat in dmesg"])

    def test_a_run_that_could_not_start_is_one_failed_check(self):
        def setup_failed(d):
            with open(os.path.join(d, "steps.txt"), "w", encoding="utf-8") as f:
                f.write("setup failed device=none magic=0x484f530b\n")
        self.assertEqual(verdicts(setup_failed),
                         {"the test ran (device bound, fault no-answer selectable)": False})


if __name__ == "__main__":
    unittest.main()
