#!/usr/bin/env python3
"""summary.py - count TAP test points in Meson's testlog.json.

Prints "N passed, N failed" as the last line. A test executable that
printed no TAP at all (it crashed, or timed out) counts as one failure; so
does a TAP "# SKIP" (a test that did not run proves nothing).
"""
import json
import re
import sys

OK = re.compile(r"^(not ok|ok)\b(.*)$")


def count(entry):
    passed = failed = 0
    for line in (entry.get("stdout") or "").splitlines():
        m = OK.match(line)
        if not m:
            continue
        skipped = re.search(r"#\s*skip", m.group(2), re.I) is not None
        if m.group(1) == "ok" and not skipped:
            passed += 1
        else:
            failed += 1
    if entry.get("result") not in ("OK", "EXPECTEDFAIL") and failed == 0:
        failed = 1  # crashed, timed out or a bad plan: not a pass
    return passed, failed


def main(path):
    passed = failed = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                # a damaged log line: whatever it was, it is not a pass
                print("FAILED: unreadable line in %s" % path)
                failed += 1
                continue
            p, fl = count(entry)
            if fl:
                print("FAILED: %s (%d failed)" % (entry.get("name"), fl))
            passed += p
            failed += fl
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.json"))
