#!/usr/bin/env python3
"""Runs the end-to-end judges' own unit tests (tests/e2e/test_*.py, on the recorded artifacts in tests/e2e/testdata/)
with unittest and, with --results FILE, writes one check per test as {"checks": [{name, passed, detail}]}, the form
tools/count-results.py adds up. A skipped test counts as failed: every test here can run on any machine.
Exit status 1 if any test failed or none ran."""
import argparse
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class RecordingResult(unittest.TextTestResult):
    """A text result that also keeps every test's outcome."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = []

    def _record(self, test, passed, detail=""):
        self.outcomes.append({"name": f"e2e judges: {test.id()}", "passed": passed, "detail": detail})

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, False, self._exc_info_to_string(err, test).strip().splitlines()[-1])

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, False, self._exc_info_to_string(err, test).strip().splitlines()[-1])

    def addSubTest(self, test, subtest, err):
        # A test with a failing subtest gets no addSuccess: each failing subtest is recorded instead.
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._record(subtest, False, self._exc_info_to_string(err, test).strip().splitlines()[-1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, False, f"skipped: {reason}")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, False, "expected failure (not allowed here)")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, False, "unexpected success")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--results", help="write the checks JSON here")
    args = p.parse_args()
    sys.path.insert(0, HERE)
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TextTestRunner(resultclass=RecordingResult, verbosity=1).run(suite)
    if args.results:
        with open(args.results, "w", encoding="utf-8") as f:
            json.dump({"checks": result.outcomes}, f, indent=1)
    return 0 if result.outcomes and all(o["passed"] for o in result.outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
