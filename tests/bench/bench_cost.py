#!/usr/bin/env python3
"""bench_cost.py - what one delivery costs the machine, counted rather
than timed (machines here are shared and noisy): the instructions of
soarlist-deliver for a 20 KB post to a 300-member list (callgrind) beside
a floor program that starts GMime and SQLite and reads one row of the
database, and nothing else (bench-floor; without the database it only
starts them, also shown), and the
fdatasyncs of a distributed, a refused and a held post (strace).

Targets (issue 10): at most 1.5 times the floor's instructions, at most 1
fdatasync per distributed post, none for a refused one; a held post is
synced (DESIGN.md: durable before the program says so). A target missed
makes the benchmark exit 1. Run with `meson test -C build --benchmark
--verbose`; needs valgrind and strace.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "blackbox"))
import bench_env  # noqa: E402
import harness  # noqa: E402

FLOOR = os.environ.get("SOARLIST_BENCH_FLOOR", "build/tests/bench/bench-floor")
LIST = "members@ssc.manage2soar.com"
BODY = ("x" * 76 + "\n") * 270  # 20 KB


def instructions(argv, data=None):
    out = "/tmp/bench-cost-callgrind.%d" % os.getpid()
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
                       + argv, input=data, capture_output=True)
    if os.path.exists(out):
        os.unlink(out)
    m = re.search(rb"Collected : (\d+)", p.stderr)
    if p.returncode not in (0, 77) or m is None:
        raise SystemExit("callgrind of %s failed: %s" % (argv[0], p.stderr[-500:]))
    return int(m.group(1))


def syncs(env, data, rcpt, sender):
    out = os.path.join(env.root, "strace")
    p = subprocess.run(["strace", "-f", "-qq", "-o", out, "-e", "trace=fsync,fdatasync",
                        harness.DELIVER, "-c", env.config, "-f", sender, "--", rcpt],
                       input=data, capture_output=True)
    with open(out) as f:
        lines = [l for l in f.read().splitlines() if "sync" in l]
        if os.environ.get("BENCH_DEBUG"):
            print(lines)
        return p.returncode, len(lines)


def main():
    for tool in ("valgrind", "strace"):
        if shutil.which(tool) is None:
            raise SystemExit("%s is not installed" % tool)
    env = bench_env.three_hundred(lists={"ssc/board": {"nonmember_action": "hold"}})
    try:
        post = lambda **kw: harness.uniq_post(body=BODY, **kw).encode()  # noqa: E731
        argv = [harness.DELIVER, "-c", env.config, "-f", "alice@example.org", "--", LIST]
        # the first post after a checkpoint restarts the WAL: steady state after it
        subprocess.run(argv, input=post(), capture_output=True, check=True)
        deliver = min(instructions(argv, post()) for _ in range(3))
        bare = min(instructions([FLOOR]) for _ in range(3))
        floor = min(instructions([FLOOR, env.db]) for _ in range(3))
        ratio = deliver / bare
        _, distributed = syncs(env, post(), LIST, "alice@example.org")
        _, refused = syncs(env, post(from_="x@stranger.example"), LIST, "x@stranger.example")
        _, held = syncs(env, post(from_="x@stranger.example", to="board@ssc.manage2soar.com"),
                        "board@ssc.manage2soar.com", "x@stranger.example")
        print("instructions: delivery %.1f M; floor (GMime and SQLite started) "
              "%.1f M, ratio %.2f (target <= 1.5); with the database opened and "
              "one row read %.1f M, ratio %.2f"
              % (deliver / 1e6, bare / 1e6, ratio, floor / 1e6, deliver / floor))
        print("fdatasync: distributed %d (target <= 1), refused %d (target 0), held %d "
              "(must be >= 1)" % (distributed, refused, held))
        ok = ratio <= 1.5 and distributed <= 1 and refused == 0 and held >= 1
        if not ok:
            print("FAIL: a target is missed")
        return 0 if ok else 1
    finally:
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())
