#!/usr/bin/env python3
"""bench_sync.py - wall time of `soarlist sync` for a full server.

Run with `meson test -C build --benchmark --verbose` (or directly, with
SOARLIST_BIN set). 50 clubs x 12 lists x 500 members (each club's addresses
its own, drawn from a pool of 3000 per club, which is also its whitelist),
served over HTTPS with a private CA by tests/blackbox/m2s_server.py in a
thread of this process, Postfix tables written too when postmap is
installed. Three rounds, each on a fresh database: the first sync, then a
second sync with nothing changed. Prints the median and worst of each.
A fourth round runs both syncs under strace (-f -e trace=fdatasync,fsync,
execve) and counts the fdatasync and fsync calls of soarlist and of each
program it starts (postmap). Targets (issue 10, on a 2-core machine):
first sync under 2 s, unchanged sync under 0.3 s (medians), and at most
1 fdatasync or fsync in all of the unchanged sync (soarlist and its
children); the first sync's count is printed. A target missed makes the
benchmark exit 1.
"""
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "blackbox"))
import harness  # noqa: E402
import m2s_server  # noqa: E402

CLUBS, LISTS, MEMBERS, POOL = 50, 12, 500, 3000
LIST_NAMES = ["members", "instructors", "towpilots", "board", "treasurer", "webmaster",
              "private-owners", "students", "duty-officers", "tuggies", "cfigs", "social"]
FIRST_TARGET, SECOND_TARGET = 2.0, 0.3
SYNCS_TARGET = 1  # fdatasync + fsync calls of an unchanged sync, at most
POSTMAP = "/usr/sbin/postmap"
STRACE = "/usr/bin/strace"


def club_answer(c):
    """Club C's answer in M2S's shape (tests/data/m2s/README): every 25th
    address spelled in mixed case as a member typed it, and a household:
    the list's first address once more at its end (and in the whitelist)."""
    pool = ["member%04d@club%02d.example.org" % (j, c) for j in range(POOL)]
    for j in range(0, POOL, 25):
        pool[j] = "Member%04d@Club%02d.Example.org" % (j, c)
    lists = {}
    for k, name in enumerate(LIST_NAMES[:LISTS]):
        start = k * 250
        lists[name] = [pool[(start + j) % POOL] for j in range(MEMBERS)]
        lists[name].append(lists[name][0])
    return json.dumps({"lists": lists, "whitelist": pool + [pool[0]],
                       "bypass_lists": ["treasurer", "webmaster"]}).encode()


def write_config(env, srv, key_file, ca_file, extra):
    out = ["[soarlist]", "database = %s" % env.db, "sendmail = %s" % env.sendmail,
           "admin = postmaster@manage2soar.com", "log_file = %s" % env.log,
           "api_key_file = %s" % key_file, "ca_file = %s" % ca_file, extra, ""]
    for c in range(CLUBS):
        slug = "club%02d" % c
        out += ["[club %s]" % slug, "name = Club %02d" % c,
                "api_url = %s" % srv.url(slug),
                "domains = %s.manage2soar.com;%s.example" % (slug, slug), ""]
    with open(env.config, "w") as f:
        f.write("\n".join(out))


def timed_sync(env):
    t0 = time.perf_counter()
    p = subprocess.run([harness.SOARLIST, "-c", env.config, "sync", "--quiet"],
                       capture_output=True, timeout=300)
    sec = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit("sync failed (%d): %s" % (p.returncode, p.stderr.decode()[-2000:]))
    return sec


def traced_sync(env):
    """One sync under strace -ff: {program: number of fdatasync + fsync
    calls}, program being the basename of what each process executed."""
    prefix = os.path.join(env.root, "strace")
    p = subprocess.run([STRACE, "-ff", "-qq", "-e", "trace=fdatasync,fsync,execve",
                        "-o", prefix, harness.SOARLIST, "-c", env.config, "sync",
                        "--quiet"], capture_output=True, timeout=600)
    if p.returncode != 0:
        raise SystemExit("traced sync failed (%d): %s" % (p.returncode,
                                                       p.stderr.decode()[-2000:]))
    calls = collections.Counter()
    for name in os.listdir(env.root):
        if not name.startswith("strace."):
            continue
        path = os.path.join(env.root, name)
        with open(path) as f:
            text = f.read()
        os.unlink(path)
        execs = re.findall(r'^execve\("([^"]*)".* = 0$', text, re.M)
        prog = os.path.basename(execs[-1]) if execs else "(a child that did not exec)"
        calls[prog] += len(re.findall(r"^f(?:data)?sync\(", text, re.M))
    return calls


def one_round(srv, certs, key, traced=False):
    env = harness.Env()
    try:
        key_file = os.path.join(env.root, "api.key")
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        extra = ""
        if os.path.exists(POSTMAP):
            maps, pfetc = os.path.join(env.root, "maps"), os.path.join(env.root, "postfix")
            os.mkdir(maps)
            os.mkdir(pfetc)
            main_cf = os.path.join(pfetc, "main.cf")
            with open(main_cf, "w") as f:
                f.write("myhostname = test.example\n")
            old = time.time() - 60
            os.utime(main_cf, (old, old))
            extra = "postfix_dir = %s\npostfix_config_dir = %s\n" % (maps, pfetc)
        write_config(env, srv, key_file, certs.ca_file, extra)
        srv.reset_log()
        sync = traced_sync if traced else timed_sync
        first = sync(env)
        second = sync(env)
        if len(srv.requests()) != 2 * CLUBS:
            raise SystemExit("expected %d requests, got %d" % (2 * CLUBS, len(srv.requests())))
        rows = env.query("SELECT count(*) FROM list_member")[0][0]
        if rows != CLUBS * LISTS * MEMBERS:
            raise SystemExit("expected %d member rows, found %d"
                             % (CLUBS * LISTS * MEMBERS, rows))
        return first, second
    finally:
        env.cleanup()


def main():
    tmp = tempfile.mkdtemp(prefix="soarlist-bench-sync-")
    certs = m2s_server.Certs(tmp)
    srv = m2s_server.M2S(certs)
    key = "bench-" + os.urandom(8).hex()
    try:
        answers = {}
        for c in range(CLUBS):
            answers[c] = club_answer(c)
            srv.add_club("club%02d" % c, answers[c], key=key)
        size = sum(len(a) for a in answers.values())
        results = [one_round(srv, certs, key) for _ in range(3)]
        traced = one_round(srv, certs, key, traced=True)
    finally:
        srv.close()
        subprocess.run(["rm", "-rf", tmp])
    firsts = [r[0] for r in results]
    seconds = [r[1] for r in results]
    print("%d clubs x %d lists x %d members over HTTPS (%.1f MB of JSON)%s"
          % (CLUBS, LISTS, MEMBERS, size / 1e6,
             ", Postfix tables" if os.path.exists(POSTMAP) else ""))
    ok = True
    for label, times, target in (("first sync", firsts, FIRST_TARGET),
                                 ("unchanged sync", seconds, SECOND_TARGET)):
        med = statistics.median(times)
        print("%-15s runs=%d median=%.3f s worst=%.3f s target<%.1f s"
              % (label, len(times), med, max(times), target))
        if med >= target:
            print("  FAIL: %s median %.3f s is over %.1f s" % (label, med, target))
            ok = False
    for label, calls, target in (("first sync", traced[0], None),
                                 ("unchanged sync", traced[1], SYNCS_TARGET)):
        total = sum(calls.values())
        detail = ", ".join("%s %d" % kv for kv in sorted(calls.items()))
        print("%-15s fdatasync+fsync=%d (%s)%s"
              % (label, total, detail,
                 "" if target is None else " target<=%d" % target))
        if target is not None and total > target:
            print("  FAIL: %s made %d fdatasync/fsync calls, over %d"
                  % (label, total, target))
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
