#!/usr/bin/env python3
"""test_format.py - the house style, checked (issue 10): every C source and
header under src/, include/ and tests/ is as .clang-format formats it.

Runs contrib/scripts/check-format (clang-format --dry-run -Werror on each
file git tracks) and reports one TAP point per file, so that a file that
drifted is named in the summary. Fails, never skips, when clang-format or
git is missing (contrib/scripts/install-deps --tests installs it).
"""
import os
import subprocess
import sys

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CHECK = os.path.join(TOP, "contrib", "scripts", "check-format")


def main():
    files = subprocess.run(
        ["git", "-C", TOP, "ls-files", "--", "src/*.c", "src/*.h", "include/*.c",
         "include/*.h", "tests/*.c", "tests/*.h"],
        capture_output=True, text=True)
    p = subprocess.run(["sh", CHECK], capture_output=True, text=True)
    if files.returncode != 0 or p.returncode not in (0, 1):
        print("1..1")
        print("not ok 1 - the style check ran # %s%s"
              % (files.stderr.strip(), p.stderr.strip().replace("\n", " ")))
        return 1
    names = [n for n in files.stdout.splitlines() if os.path.exists(os.path.join(TOP, n))]
    bad = set(p.stdout.split())
    print("1..%d" % len(names))
    for i, n in enumerate(names, 1):
        print("%s %d - %s formatted as .clang-format says"
              % ("not ok" if n in bad else "ok", i, n))
        if n in bad:
            print("# see: clang-format --dry-run %s" % n)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
