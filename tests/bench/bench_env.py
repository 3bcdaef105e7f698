"""bench_env.py - the installation the delivery benchmarks share: the
canonical clubs (tests/data/m2s), members@ssc with 300 members and alice
allowed to post, a sendmail that reads the message and discards it (we
measure soarlist-deliver, not a mail system), synced."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "blackbox"))
import harness  # noqa: E402

MEMBERS = 300


def three_hundred(lists=None):
    """A synced harness.Env as above; LISTS: per-list settings
    (harness.Env.write_config). The caller cleans it up."""
    env = harness.Env()
    api = harness.m2s_answer("ssc")
    api["lists"]["members"] = ["member%03d@example.org" % i for i in range(MEMBERS)]
    api["whitelist"] += ["alice@example.org"]
    env.write_api("ssc", api)
    env.write_api("other", harness.OTHER_API)
    env.write_config(lists=lists)
    with open(env.sendmail, "w") as f:
        f.write("#!/bin/sh\ncat >/dev/null\n")
    assert env.soarlist("sync").rc == 0, "sync failed"
    return env
