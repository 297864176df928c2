#!/usr/bin/env python3
"""Adds up test results from every suite (.NET TRX files and end-to-end results.json files) and prints one line:
'N passed, N failed'. Exits 1 if anything failed or nothing ran."""
import json
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}


def main(paths):
    passed = failed = 0
    for path in paths:
        if path.endswith(".trx"):
            counters = ET.parse(path).getroot().find("t:ResultSummary/t:Counters", NS)
            if counters is None:
                print(f"count-results: {path} has no counters", file=sys.stderr)
                failed += 1
                continue
            passed += int(counters.get("passed", 0))
            failed += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) \
                + int(counters.get("aborted", 0))
        elif path.endswith(".json"):
            with open(path, encoding="utf-8") as f:
                checks = json.load(f).get("checks", [])
            for check in checks:
                if check.get("passed"):
                    passed += 1
                else:
                    failed += 1
                    print(f"FAILED (e2e): {check.get('name')}: {check.get('detail', '')}", file=sys.stderr)
        else:
            print(f"count-results: don't know how to read {path}", file=sys.stderr)
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
