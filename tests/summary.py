#!/usr/bin/env python3
"""summary.py - count TAP test points in Meson's testlog.json.

Prints "N passed, N failed" as the last line. A test executable that
printed no TAP at all (it crashed, or timed out) counts as one failure; so
does a TAP "# SKIP" (a test that did not run proves nothing), with one
exception: the install test (tests/install/) skipped because
SOARLIST_SKIP_INSTALL_TEST=1 is set, which is reported on a line of its
own ("SKIPPED: ...") and counted neither way.
"""
import json
import os
import re
import sys

OK = re.compile(r"^(not ok|ok)\b(.*)$")
SKIP_VAR = "SOARLIST_SKIP_INSTALL_TEST"


def allowed_skip(rest):
    """A skip the administrator asked for: the install test's, with its
    variable set."""
    return os.environ.get(SKIP_VAR) == "1" and ("%s=1" % SKIP_VAR) in rest


def count(entry):
    """(passed, failed, skipped on request) test points of one test."""
    passed = failed = skipped = 0
    for line in (entry.get("stdout") or "").splitlines():
        m = OK.match(line)
        if not m:
            continue
        is_skip = re.search(r"#\s*skip", m.group(2), re.I) is not None
        if m.group(1) == "ok" and not is_skip:
            passed += 1
        elif m.group(1) == "ok" and allowed_skip(m.group(2)):
            skipped += 1
        else:
            failed += 1
    allowed = ("OK", "EXPECTEDFAIL") + (("SKIP",) if skipped and not passed else ())
    if entry.get("result") not in allowed and failed == 0:
        failed = 1  # crashed, timed out or a bad plan: not a pass
    return passed, failed, skipped


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
            p, fl, sk = count(entry)
            if fl:
                print("FAILED: %s (%d failed)" % (entry.get("name"), fl))
            if sk:
                print("SKIPPED: %s (%s=1 is set: not run, not counted)"
                      % (entry.get("name"), SKIP_VAR))
            passed += p
            failed += fl
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.json"))
