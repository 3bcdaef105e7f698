#!/usr/bin/env python3
"""test_tools.py - the install test's own tools, quickly, without a root:
readme.py reads the README's commands as a person would and fails loudly
on anything it cannot classify; tests/summary.py counts a skip as a
failure except the install test's, with SOARLIST_SKIP_INSTALL_TEST=1 set;
the transcript helpers of stage2.py see a refusal only where there is one.
TAP on stdout.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "blackbox"))
import readme  # noqa: E402

N = 0
FAILED = 0


def ok(cond, desc, diag=""):
    global N, FAILED
    N += 1
    FAILED += 0 if cond else 1
    print("%s %d - %s" % ("ok" if cond else "not ok", N, desc))
    if not cond and diag:
        for line in str(diag).splitlines():
            print("# " + line)


DOC = """title
=====

    # echo top

Installing on a mail server
---------------------------
1. Step one:

       # apt-get install postfix \\
               swaks
       # cat > /etc/x.conf <<'EOF'
       [a]
       # a comment in the file

       b = c
       EOF

   With systemd, the timer:

       # systemctl enable x

   Without systemd, cron:

       # cp x /etc/cron.d/

   With the package, one more look:

       # dpkg -L x

   From source, without systemd, the entry meson installed:

       # cp /usr/local/x /etc/cron.d/

   From source:

       # make install

2. Last:

       # echo done


Next section
------------
    not a command, and not read
"""


def error_of(text, title="Installing on a mail server"):
    try:
        readme.extract(text, title)
    except readme.ReadmeError as e:
        return str(e)
    return None


def test_extract():
    cmds = readme.extract(DOC, "Installing on a mail server")
    got = [(c.variant, c.way, c.text) for c in cmds]
    want = [
        ("all", "all", "apt-get install postfix \\\n               swaks\n"),
        ("all", "all", "cat > /etc/x.conf <<'EOF'\n[a]\n# a comment in the file\n\nb = c\nEOF\n"),
        ("systemd", "all", "systemctl enable x\n"),
        ("nosystemd", "all", "cp x /etc/cron.d/\n"),
        ("all", "package", "dpkg -L x\n"),
        ("nosystemd", "source", "cp /usr/local/x /etc/cron.d/\n"),
        ("all", "source", "make install\n"),
        ("all", "all", "echo done\n"),
    ]
    ok(got == want, "commands, continuations, here-documents, variants and ways are read",
       "got %r\nwant %r" % (got, want))
    top = readme.extract(DOC, "")
    ok([c.text for c in top] == ["echo top\n"], "the top section is read up to the first title",
       repr(top))
    ok(cmds[0].line == 10, "a command knows its README line", "got %d, want 10" % cmds[0].line)


def test_errors():
    cases = [
        ("an indented line that is no command",
         DOC.replace("       # echo done", "       echo done"), "neither a '# ' command"),
        ("a here-document that never ends",
         DOC.replace("       EOF\n", ""), "here-document"),
        ("a continuation into a blank line",
         DOC.replace("# echo done", "# echo done \\"), "after a line ending in"),
        ("a paragraph that mentions systemd ambiguously",
         DOC.replace("   With systemd, the timer:", "   The timer, for systemd:"),
         "mentions systemd"),
        ("a way's paragraph that mentions systemd ambiguously",
         DOC.replace("   From source, without systemd, the entry",
                     "   From source, the entry without systemd"), "mentions systemd"),
        ("a section with no command",
         "t\n=\n\nInstalling on a mail server\n---------------------------\nprose\n",
         "no '# ' command"),
        ("a missing section", "t\n=\n\n    # a\n", "0 sections titled"),
        ("a tab in a block", DOC.replace("       # echo done", "\t# echo done"), "tab"),
    ]
    for name, text, want in cases:
        got = error_of(text)
        ok(got is not None and want in got, "refused: %s" % name,
           "got %r, want an error containing %r" % (got, want))


def test_real_readme():
    with open(os.path.join(TOP, "README"), encoding="utf-8") as f:
        text = f.read()
    cmds = readme.extract_all(text)
    variants = {c.variant for c in cmds}
    ok(len(cmds) > 10 and variants == {"all", "systemd", "nosystemd"},
       "the README's install commands are read, with both variants",
       "%d commands, variants %s" % (len(cmds), variants))
    ways = {c.way for c in cmds}
    ok(ways == {"all", "package", "source"},
       "the README's install commands are read, with both ways (package, source)",
       "ways %s" % ways)
    pkg = [c.text for c in cmds if c.way == "package"]
    ok(any(re.match(r"apt install \.\./soarlist_\*\.deb$", t) for t in pkg)
       and any(t.startswith("dpkg-buildpackage ") for t in pkg),
       "the package way builds the package and installs it with apt", pkg)
    swaks = [c for c in cmds if c.first.startswith("swaks")]
    ok(any("stranger@" in c.text for c in swaks) and
       any("From: Alice Example <alice@example.org>" in c.text for c in swaks),
       "the README posts as a member with a display name and as a stranger",
       [c.text for c in swaks])


def summary(entries, skip_var):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        for e in entries:
            f.write(json.dumps(e) + "\n")
    env = dict(os.environ)
    env.pop("SOARLIST_SKIP_INSTALL_TEST", None)
    env.pop("SOARLIST_SKIP_PACKAGE_TEST", None)
    if skip_var:
        env[skip_var if isinstance(skip_var, str) else "SOARLIST_SKIP_INSTALL_TEST"] = "1"
    p = subprocess.run([sys.executable, os.path.join(TOP, "tests", "summary.py"), f.name],
                       capture_output=True, text=True, env=env)
    os.unlink(f.name)
    return p.returncode, p.stdout


def test_summary():
    install = {"name": "install-readme", "result": "SKIP",
               "stdout": "ok 1 # SKIP SOARLIST_SKIP_INSTALL_TEST=1: not run\n1..1\n"}
    other_skip = {"name": "x", "result": "SKIP",
                  "stdout": "ok 1 # SKIP SOARLIST_SKIP_INSTALL_TEST=1 (a lie)\n1..1\n"}
    good = {"name": "good", "result": "OK", "stdout": "ok 1 - a\nok 2 - b\n1..2\n"}
    rc, out = summary([good, install], False)
    ok(rc == 1 and out.endswith("2 passed, 1 failed\n"),
       "without the variable, the install test's skip is a failure", out)
    rc, out = summary([good, install], True)
    ok(rc == 0 and "SKIPPED: install-readme" in out and out.endswith("2 passed, 0 failed\n"),
       "with SOARLIST_SKIP_INSTALL_TEST=1, it is reported as skipped, not failed", out)
    rc, out = summary([good, {"name": "y", "result": "OK",
                              "stdout": "ok 1 - a\nok 2 # skip no reason\n1..2\n"}], True)
    ok(rc == 1 and out.endswith("3 passed, 1 failed\n"),
       "with the variable, any other skip still fails", out)
    package = {"name": "package", "result": "SKIP",
               "stdout": "ok 1 # SKIP SOARLIST_SKIP_PACKAGE_TEST=1: not run\n1..1\n"}
    rc, out = summary([good, package], "SOARLIST_SKIP_PACKAGE_TEST")
    ok(rc == 0 and "SKIPPED: package (SOARLIST_SKIP_PACKAGE_TEST=1" in out
       and out.endswith("2 passed, 0 failed\n"),
       "with SOARLIST_SKIP_PACKAGE_TEST=1, the package test is reported as skipped", out)
    rc, out = summary([good, package], True)
    ok(rc == 1 and out.endswith("2 passed, 1 failed\n"),
       "the install test's variable does not excuse the package test", out)
    rc, out = summary([good, dict(other_skip, stdout="ok 1 # SKIP other reason\n1..1\n")], True)
    ok(rc == 1 and out.endswith("2 passed, 1 failed\n"),
       "a skip whose reason is not the variable fails", out)


def test_summary_sanitizer_build():
    """tests/run's second build: its log is counted too, its tests named
    with its directory, and each sanitizer report file is a failure."""
    good = {"name": "good", "result": "OK", "stdout": "ok 1 - a\nok 2 - b\n1..2\n"}
    bad = {"name": "bad", "result": "FAIL",
           "stdout": "ok 1 - a\nnot ok 2 - b\n# AssertionError: why b failed\nok 3 - c\n"
                     "# a comment of c\n1..3\n"}
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "build-san"))
        logs = []
        for sub, entries in (("build", [good]), ("build-san", [good, bad])):
            os.makedirs(os.path.join(d, sub, "meson-logs"), exist_ok=True)
            logs.append(os.path.join(sub, "meson-logs", "testlog.json"))
            with open(os.path.join(d, logs[-1]), "w") as f:
                for e in entries:
                    f.write(json.dumps(e) + "\n")
        reports = os.path.join(d, "build-san", "sanitizer-reports")
        os.mkdir(reports)
        env = dict(os.environ)
        env.pop("SOARLIST_SKIP_SANITIZERS", None)

        def run(*args):
            p = subprocess.run([sys.executable, os.path.join(TOP, "tests", "summary.py")]
                               + list(args), capture_output=True, text=True, cwd=d,
                               env=env)
            return p.returncode, p.stdout
        rc, out = run(*logs, "--reports", reports)
        ok(rc == 1 and out.endswith("6 passed, 1 failed\n")
           and "FAILED: build-san: bad (1 failed)" in out,
           "both builds' logs are counted, the second's tests named with its directory",
           out)
        ok("FAILED: build-san: bad (1 failed)\n  | not ok 2 - b\n"
           "  | # AssertionError: why b failed\n" in out and "comment of c" not in out,
           "under a failed test, its not-ok line and the diagnostics that follow it", out)
        crashed = {"name": "crashed", "result": "ERROR", "stdout": "TAP version 13\n",
                   "stderr": "Segmentation fault\n"}
        with open(os.path.join(d, logs[1]), "w") as f:
            f.write(json.dumps(crashed) + "\n")
        rc, out = run(*logs)
        ok(rc == 1 and "FAILED: build-san: crashed (1 failed)\n  | TAP version 13\n"
           "  | Segmentation fault\n" in out,
           "under a test that printed no not-ok line, the end of its output", out)
        with open(os.path.join(reports, "asan.4242"), "w") as f:
            f.write("=================\n==4242==ERROR: LeakSanitizer: detected memory "
                    "leaks\n\nDirect leak of 39 byte(s)\n")
        rc, out = run(logs[0], "--reports", reports)
        ok(rc == 1 and out.endswith("2 passed, 1 failed\n")
           and "LeakSanitizer: detected memory leaks" in out,
           "a sanitizer report file is a failure, named with its first error", out)
        rc, out = run(logs[0], "build-none/meson-logs/testlog.json")
        ok(rc == 1 and out.endswith("2 passed, 1 failed\n"),
           "a build that left no log (it failed to build) is a failure", out)
        env["SOARLIST_SKIP_SANITIZERS"] = "1"
        rc, out = run(logs[0])
        ok(rc == 0 and "SKIPPED: the sanitizer build" in out
           and out.endswith("2 passed, 0 failed\n"),
           "SOARLIST_SKIP_SANITIZERS=1 is said, not counted", out)


def test_transcripts():
    import stage2
    refused = (" -> MAIL FROM:<s@example.com>\n<-  250 2.1.0 Ok\n"
               " -> RCPT TO:<members@d>\n<** 550 5.7.1 <members@d>: no\n -> QUIT\n")
    accepted = (" -> MAIL FROM:<s@example.com>\n<-  250 2.1.0 Ok\n"
                " -> RCPT TO:<members@d>\n<-  250 2.1.5 Ok\n -> DATA\n")
    mail_refused = " -> MAIL FROM:<s@example.com>\n<** 550 5.7.1 no\n"
    ok(stage2.refused_at_rcpt(refused), "a 550 after RCPT TO is a refusal at RCPT")
    ok(not stage2.refused_at_rcpt(accepted), "a 250 after RCPT TO is not")
    ok(not stage2.refused_at_rcpt(mail_refused), "a refusal at MAIL FROM is not one at RCPT")
    answer = {"lists": {"members": ["a@x"], "Board Members": ["b@x"]},
              "whitelist": [], "bypass_lists": []}
    served, left = stage2.usable(answer)
    ok(list(served["lists"]) == ["members"] and left == ["Board Members"]
       and "Board Members" in answer["lists"],
       "the world's answer leaves out names no address can carry, the canonical one keeps them")


def main():
    test_extract()
    test_errors()
    test_real_readme()
    test_summary()
    test_summary_sanitizer_build()
    test_transcripts()
    print("1..%d" % N)
    return 0 if FAILED == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
