#!/usr/bin/env python3
"""test_rules.py - contrib/prometheus/soarlist.rules.yml checked by
Prometheus's own promtool (Debian's prometheus package): the file is
valid (promtool check rules) and each alert fires on the series that
should fire it and not below (promtool test rules, with
soarlist.rules.test.yml). TAP, one point each."""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "..", "..", "contrib", "prometheus", "soarlist.rules.yml")


def main():
    print("1..2")
    promtool = shutil.which("promtool")
    failed = 0
    for n, args in enumerate((["check", "rules", RULES],
                              ["test", "rules", "soarlist.rules.test.yml"]), 1):
        if promtool is None:
            ok, out = False, "promtool is not installed (apt-get install prometheus)"
        else:
            p = subprocess.run([promtool] + args, cwd=HERE, capture_output=True,
                               text=True, timeout=120)
            ok, out = p.returncode == 0, p.stdout + p.stderr
        failed += not ok
        print("%s %d - promtool %s" % ("ok" if ok else "not ok", n, " ".join(args[:2])))
        if not ok:
            for line in out.splitlines()[-30:]:
                print("# " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
