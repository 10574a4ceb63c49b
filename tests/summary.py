#!/usr/bin/env python3
"""Summarise meson's test log as one plain line 'N passed, N failed, N skipped'.
As root (where every test can run) a skipped test is a failure: CI must run everything.
With VP_FAILED set, each failed test's name and the end of its output are appended to that file,
which tests/run prints last: CI keeps only the end of a long log."""
import json
import os
import sys

TAIL_LINES = 40

counts = {"passed": 0, "failed": 0, "skipped": 0}
failed = []
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        res = t.get("result", "")
        if res == "OK" or res == "EXPECTEDFAIL":
            counts["passed"] += 1
        elif res == "SKIP":
            counts["skipped"] += 1
            print(f"skipped: {t.get('name')}")
        else:
            counts["failed"] += 1
            print(f"failed: {t.get('name')} ({res})")
            failed.append(t)
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
report = os.environ.get("VP_FAILED")
if report and failed:
    with open(report, "a") as f:
        for t in failed:
            out = (t.get("stdout") or "").splitlines()[-TAIL_LINES:]
            f.write(f"== failed: {t.get('name')} ({t.get('result')}), the end of its output:\n")
            f.write("".join(f"   {line}\n" for line in out))
# Running totals over the passes of one tests/run, for its closing line.
total = os.environ.get("VP_TOTALS")
if total:
    with open(total, "a") as f:
        f.write(f"{counts['passed']} {counts['failed']} {counts['skipped']}\n")
strict = os.geteuid() == 0 and not os.environ.get("VP_ALLOW_SKIP")
sys.exit(1 if counts["failed"] or (strict and counts["skipped"]) or not counts["passed"] else 0)
