#!/usr/bin/env python3
"""bench_deliver.py - cost of one delivery: wall time and peak RSS.

Run with `meson test -C build --benchmark --verbose` (or directly, with
SOARLIST_BIN and SOARLIST_DELIVER set). Prints, for a 20 KB post to a
300-member list and for a 25 MB post, the median and worst milliseconds
and the peak RSS of soarlist-deliver (GNU time's %M, the largest of the
runs). Targets (issue 10): peak RSS at most 8 MB for the 20 KB post and
at most 12 MB for the 25 MB one (MB = 1024 KiB): memory that does not
grow with message size. A target missed makes the benchmark exit 1.
"""
import base64
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "blackbox"))
import bench_env  # noqa: E402
import harness  # noqa: E402

RSS_TARGET_KB = {"20 KB post": 8 * 1024, "25 MB post": 12 * 1024}


def run_once(env, data, msgid):
    """One delivery; returns (ms, max RSS in KiB).

    The RSS comes from GNU time, not from os.wait4(): a child forked from
    this Python process inherits its RSS high-water mark (the kernel keeps
    the pre-exec maximum), which would measure Python, not soarlist.
    """
    data = data.replace(b"<MSGID>", msgid.encode())
    rss_file = os.path.join(env.root, "maxrss")
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file,
                        harness.DELIVER, "-c", env.config, "-f",
                        "alice@example.org", "--", "members@ssc.manage2soar.com"],
                       input=data, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ms = (time.perf_counter() - t0) * 1000
    if p.returncode != 0:
        raise SystemExit("delivery failed: %d %s" % (p.returncode, p.stderr))
    with open(rss_file) as f:
        return ms, int(f.read().split()[-1])


def message(body_bytes):
    head = (b"From: Alice <alice@example.org>\nTo: members@ssc.manage2soar.com\n"
            b"Subject: bench\nMessage-ID: <MSGID>\nMIME-Version: 1.0\n"
            b"Content-Type: application/octet-stream\n"
            b"Content-Transfer-Encoding: base64\n\n")
    return head + base64.encodebytes(os.urandom(body_bytes * 3 // 4))


def main():
    env = bench_env.three_hundred()
    try:
        ok = True
        for label, size, runs in (("20 KB post", 20 * 1024, 50),
                                  ("25 MB post", 25 * 1024 * 1024, 5)):
            data = message(size)
            results = [run_once(env, data, "b%d-%d@x" % (size, i)) for i in range(runs)]
            ms = [r[0] for r in results]
            rss = max(r[1] for r in results)
            target = RSS_TARGET_KB[label]
            print("%-11s runs=%d median=%.1f ms worst=%.1f ms peak_rss=%.2f MB "
                  "(target <= %d MB, %.2f of it)"
                  % (label, runs, statistics.median(ms), max(ms), rss / 1024,
                     target // 1024, rss / target))
            if rss > target:
                print("  FAIL: %s: peak RSS %.2f MB is over %d MB"
                      % (label, rss / 1024, target // 1024))
                ok = False
        return 0 if ok else 1
    finally:
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())
