"""sanitizers.py - what the black-box tests adjust, and only adjust, when
the programs under test are built with AddressSanitizer and
UndefinedBehaviorSanitizer (meson setup -Db_sanitize=address,undefined:
tests/run's second build; tests/blackbox/meson.build then sets
SOARLIST_SANITIZED to the b_sanitize value).

- Peak RSS ceilings are scaled: ASan's shadow memory, redzones and
  quarantine add a fixed part and a part proportional to what the program
  allocates. The scaled ceiling still fails a program whose memory grows
  with the message (a 25 MB post held in memory is far above it).
- A program run under strace gets detect_leaks=0: LeakSanitizer cannot
  work under ptrace and exits 1 instead of checking. Every other run keeps
  leak checking.
"""
import os

SANITIZED = os.environ.get("SOARLIST_SANITIZED", "none") not in ("", "none")
RSS_SCALE = 2


def rss_limit(kib):
    """The peak RSS ceiling KIB (KiB) for the build under test."""
    return kib * RSS_SCALE if SANITIZED else kib


def traced_env():
    """The environment for a program of ours run under strace(1)."""
    env = dict(os.environ)
    if SANITIZED:
        opts = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "detect_leaks=0"
    return env
