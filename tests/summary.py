#!/usr/bin/env python3
"""summary.py - count TAP test points in Meson's testlog.json.

Prints "N passed, N failed" as the last line. A test executable that
printed no TAP at all (it crashed, or timed out) counts as one failure; so
does a TAP "# SKIP" (a test that did not run proves nothing), with one
exception: the install test (tests/install/) skipped because
SOARLIST_SKIP_INSTALL_TEST=1 is set, the package test (tests/package/)
because SOARLIST_SKIP_PACKAGE_TEST=1 is, or the Ansible role's test
(tests/ansible/) because SOARLIST_SKIP_ANSIBLE_TEST=1 is, which is
reported on a line of its own ("SKIPPED: ...") and counted neither way.

    summary.py LOG [LOG ...] [--reports DIR]

Several logs (tests/run's gcc build and its sanitizer build) are counted
together; a test of a later log is named with its build directory. Each
file in DIR (the sanitizer build's ASan/UBSan reports, one per process
that reported) counts as one failure, named with its first error line,
so a report from a program whose exit status no test looked at still
fails the run. SOARLIST_SKIP_SANITIZERS=1 (tests/run left that build
out) is said on a line of its own.

Under each failed test it prints why, at most DETAIL_LINES lines: the
"not ok" lines with the "#" diagnostics that follow them or, for a test
that crashed or timed out, the end of what it printed. The CI log shows
only the end of the run, so that is where the reason has to be.
"""
import json
import os
import re
import sys

OK = re.compile(r"^(not ok|ok)\b(.*)$")
SKIP_VARS = ("SOARLIST_SKIP_INSTALL_TEST", "SOARLIST_SKIP_PACKAGE_TEST",
             "SOARLIST_SKIP_ANSIBLE_TEST")
DETAIL_LINES = 40


def allowed_skip(rest):
    """The variable of a skip the administrator asked for (the install or
    the package test's, with its variable set), else None."""
    for var in SKIP_VARS:
        if os.environ.get(var) == "1" and ("%s=1" % var) in rest:
            return var
    return None


def count(entry):
    """(passed, failed, skipped on request) test points of one test."""
    passed = failed = skipped = 0
    skip_var = None
    for line in (entry.get("stdout") or "").splitlines():
        m = OK.match(line)
        if not m:
            continue
        is_skip = re.search(r"#\s*skip", m.group(2), re.I) is not None
        if m.group(1) == "ok" and not is_skip:
            passed += 1
        elif m.group(1) == "ok" and allowed_skip(m.group(2)):
            skipped += 1
            skip_var = allowed_skip(m.group(2))
        else:
            failed += 1
    allowed = ("OK", "EXPECTEDFAIL") + (("SKIP",) if skipped and not passed else ())
    if entry.get("result") not in allowed and failed == 0:
        failed = 1  # crashed, timed out or a bad plan: not a pass
    return passed, failed, skipped, skip_var


def detail(entry):
    """Why ENTRY failed: its "not ok" lines and their diagnostics, or the
    end of its output; at most DETAIL_LINES lines."""
    out = (entry.get("stdout") or "").splitlines()
    lines, in_failure = [], False
    for line in out:
        if line.startswith("not ok"):
            in_failure = True
        elif OK.match(line) or not line.startswith("#"):
            in_failure = False
        if in_failure:
            lines.append(line)
    if not lines:
        lines = (out + (entry.get("stderr") or "").splitlines())[-15:]
    if len(lines) > DETAIL_LINES:
        lines = lines[:DETAIL_LINES] + ["... (%d more lines)" % (len(lines) - DETAIL_LINES)]
    return ["  | " + l for l in lines]


def reports(directory):
    """One failure per sanitizer report file in DIRECTORY."""
    failed = 0
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [l.strip() for l in f if "ERROR:" in l or "runtime error" in l
                     or "SUMMARY:" in l]
        print("FAILED: sanitizer report %s: %s"
              % (path, lines[0] if lines else "(see the file)"))
        failed += 1
    return failed


def count_log(path, prefix):
    """(passed, failed) test points of one testlog.json."""
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
            p, fl, sk, var = count(entry)
            name = prefix + str(entry.get("name"))
            if fl:
                print("FAILED: %s (%d failed)" % (name, fl))
                print("\n".join(detail(entry)))
            if sk:
                print("SKIPPED: %s (%s=1 is set: not run, not counted)"
                      % (name, var))
            passed += p
            failed += fl
    return passed, failed


def main(args):
    logs, report_dirs = [], []
    while args:
        a = args.pop(0)
        if a == "--reports" and args:
            report_dirs.append(args.pop(0))
        else:
            logs.append(a)
    logs = logs or ["build/meson-logs/testlog.json"]
    passed = failed = 0
    for i, path in enumerate(logs):
        if not os.path.exists(path):
            print("FAILED: %s does not exist (its build or test run failed)" % path)
            failed += 1
            continue
        # build/meson-logs/testlog.json -> "build-san: " for the later ones
        prefix = "" if i == 0 else path.split(os.sep)[0] + ": "
        p, fl = count_log(path, prefix)
        passed += p
        failed += fl
    for d in report_dirs:
        failed += reports(d)
    if os.environ.get("SOARLIST_SKIP_SANITIZERS") == "1":
        print("SKIPPED: the sanitizer build (SOARLIST_SKIP_SANITIZERS=1 is set:"
              " not run, not counted)")
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
