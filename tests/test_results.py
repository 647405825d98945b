#!/usr/bin/env python3
"""Reads the gtest XML files that ctest's shards write (build/test-results) and
prints the slowest tests and the totals. Under CI (CI=true) a skipped test fails
the run: CI has the set-up, so a skip there hides something missing.

    tests/test_results.py build/test-results [--slowest N]
"""
import argparse
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def read_cases(folder: Path):
    cases = []
    for path in sorted(folder.glob("*.xml")):
        for case in ET.parse(path).getroot().iter("testcase"):
            # A shard's XML lists only its own tests; a DISABLED_ test is listed
            # as not run, and counts as skipped.
            if case.find("failure") is not None:
                outcome = "failed"
            elif case.get("status") == "notrun" or case.get("result") == "skipped" or case.find("skipped") is not None:
                outcome = "skipped"
            else:
                outcome = "passed"
            name = f"{case.get('classname')}.{case.get('name')}"
            cases.append((float(case.get("time", "0")), name, outcome, path.stem))
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--slowest", type=int, default=10)
    args = parser.parse_args()
    cases = read_cases(args.folder)
    if not cases:
        print(f"test_results: no gtest results in {args.folder}", file=sys.stderr)
        return 1
    print(f"slowest {args.slowest} tests:")
    for seconds, name, _, shard in sorted(cases, reverse=True)[: args.slowest]:
        print(f"  {seconds:8.1f} s  {name}  ({shard})")
    count = {outcome: sum(1 for c in cases if c[2] == outcome) for outcome in ("passed", "failed", "skipped")}
    for _, name, outcome, shard in cases:
        if outcome != "passed":
            print(f"  {outcome}: {name} ({shard})")
    in_ci = os.environ.get("CI") == "true"
    print(f"gtest: {count['passed']} passed, {count['failed']} failed, {count['skipped']} skipped")
    if count["failed"] or (in_ci and count["skipped"]):
        if count["skipped"] and in_ci:
            print("test_results: a test skipped under CI; every test must run there", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
