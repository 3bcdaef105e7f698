#!/usr/bin/env python3
"""run-readme.py - the README's installation, executed in a fresh Debian 12.

    python3 tests/install/run-readme.py        (as root; meson test does it)

Stage 1, with network: a Debian 12 (bookworm) root made with debootstrap
from the mirror this machine uses (/etc/apt/sources.list.d/debian.sources,
else deb.debian.org; SOARLIST_INSTALL_MIRROR overrides), its package lists
updated, and every package the README's commands install downloaded into
its apt cache (apt-get install --download-only): those of the README's
`apt-get install` lines and of contrib/scripts/install-deps --list. The
result is kept as a tarball under /var/cache/soarlist-install-test, keyed
on the mirror and the package list (SOARLIST_INSTALL_CACHE=0: neither used
nor written; entries older than a week are made again).

Then the working tree (tracked and untracked files that git does not
ignore, as they are now, committed or not) is copied to /root/soarlist in
the root, and stage2.py runs the README there with no network at all, in
its own mount, PID, UTS and network namespaces (unshare).

The same machinery runs the README the other ways (runner.py):
tests/package/ with the Debian package ("With the package" blocks instead
of "From source" ones), tests/ansible/ with the role ("Installing with
Ansible"); run_readme(WAY, SKIP_VAR, AFTER) is this test with WAY
"source".

TAP on stdout, one test point per stage, per README command and per check.
SOARLIST_SKIP_INSTALL_TEST=1 skips everything (one skipped point, which
tests/summary.py reports as skipped instead of failed for this variable
only). SOARLIST_INSTALL_KEEP=1 keeps the root and the logs (the path is
printed); otherwise they are removed.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import readme  # noqa: E402

SUITE = "bookworm"
CACHE_DIR = "/var/cache/soarlist-install-test"
CACHE_MAX_AGE = 7 * 86400
STAGE1_VERSION = 1   # bump when stage 1 makes a different root
STAGE2_TIMEOUT = 3000
SKIP_VAR = "SOARLIST_SKIP_INSTALL_TEST"


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=()):
        self.n += 1
        self.failed += 0 if cond else 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc))
        if not cond:
            for line in diag:
                print("# " + line)
        sys.stdout.flush()
        return cond

    def finish(self):
        print("1..%d" % self.n)
        return 0 if self.failed == 0 else 1


def note(text):
    print("# " + text)
    sys.stdout.flush()


def run(argv, log=None, **kw):
    """Run ARGV; raise with the tail of its output when it fails."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    out = p.stdout.decode("utf-8", "replace")
    if log:
        with open(log, "a") as f:
            f.write("$ %s\n%s\n" % (" ".join(argv), out))
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s" % (" ".join(argv), p.returncode,
                                                "\n".join(out.splitlines()[-30:])))
    return out


# --- stage 1 ----------------------------------------------------------------
def mirrors():
    """(main mirror, security mirror or None) from this machine's apt
    sources."""
    main = os.environ.get("SOARLIST_INSTALL_MIRROR")
    security = None
    try:
        with open("/etc/apt/sources.list.d/debian.sources") as f:
            stanzas = f.read().split("\n\n")
    except OSError:
        stanzas = []
    for s in stanzas:
        uris = re.search(r"^URIs:\s*(\S+)", s, re.M)
        suites = re.search(r"^Suites:\s*(.+)$", s, re.M)
        if not uris or not suites:
            continue
        if "%s-security" % SUITE in suites.group(1).split():
            security = security or uris.group(1)
        elif SUITE in suites.group(1).split():
            main = main or uris.group(1)
    return main or "http://deb.debian.org/debian", security


def build_depends():
    """The Build-Depends of debian/control, the first of each set of
    alternatives, and what apt-get build-dep adds (build-essential); the
    virtual debhelper-compat and dh-sequence-* are debhelper's."""
    with open(os.path.join(TOP, "debian", "control"), encoding="utf-8") as f:
        m = re.search(r"^Build-Depends:(.*?)^(?=\S)", f.read(), re.M | re.S)
    names = {"build-essential", "dpkg-dev"}
    for dep in (m.group(1) if m else "").split(","):
        name = re.sub(r"\(.*?\)|\[.*?\]", "", dep.split("|")[0]).strip()
        if name.startswith("debhelper-compat") or name.startswith("dh-sequence-"):
            name = "debhelper"
        if name:
            names.add(name)
    return names


def packages(text):
    """Every package the README's commands install, in either way (one
    root, and one cache entry, for the install and the package test)."""
    pkgs = set()
    for c in readme.extract_all(text) + readme.extract(text, readme.ANSIBLE):
        for m in re.finditer(r"\bapt(?:-get)? install\b([^&|;#\n]*)", c.text):
            # not a .deb file of the README's: ../soarlist_*.deb
            pkgs.update(w for w in m.group(1).split()
                        if not w.startswith("-") and "/" not in w)
        if re.search(r"\bapt-get build-dep\b", c.text):
            pkgs.update(build_depends())
    deps = run(["sh", os.path.join(TOP, "contrib", "scripts", "install-deps"), "--list"])
    pkgs.update(deps.split())
    if not pkgs:
        raise RuntimeError("no package to install found in the README")
    return sorted(pkgs)


# the programs this test runs on this machine, and their Debian packages
TOOLS = {"debootstrap": "debootstrap", "ip": "iproute2", "unshare": "util-linux",
         "chroot": "coreutils", "mount": "mount", "tar": "tar", "openssl": "openssl"}


def ensure_tools():
    """Install with apt-get what is missing (a minimal Debian has no
    debootstrap, a container image no iproute2)."""
    pkgs = sorted({p for t, p in TOOLS.items() if shutil.which(t) is None})
    if not pkgs:
        return
    note("installing %s" % " ".join(pkgs))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        run(["apt-get", "install", "-y", "-q"] + pkgs, env=env)
    except RuntimeError:
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q"] + pkgs, env=env)


def chroot(root, argv, log):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
    return run(["chroot", root] + argv, log=log, env=env)


def build_root(root, main, security, pkgs, log):
    run(["debootstrap", SUITE, root, main], log=log)
    sources = ["deb %s %s main" % (main, SUITE), "deb %s %s-updates main" % (main, SUITE)]
    if security:
        sources.append("deb %s %s-security main" % (security, SUITE))
    with open(os.path.join(root, "etc/apt/sources.list"), "w") as f:
        f.write("\n".join(sources) + "\n")
    chroot(root, ["apt-get", "update", "-q"], log)
    chroot(root, ["apt-get", "install", "--download-only", "-y", "-q"] + pkgs, log)


def stage1(root, work, pkgs):
    """A Debian root at ROOT with PKGS downloaded, from the cache or made."""
    main, security = mirrors()
    key = hashlib.sha256(json.dumps([STAGE1_VERSION, SUITE, main, security, pkgs])
                         .encode()).hexdigest()[:16]
    tarball = os.path.join(CACHE_DIR, "%s-%s.tar" % (SUITE, key))
    use_cache = os.environ.get("SOARLIST_INSTALL_CACHE", "1") != "0"
    if use_cache and os.path.exists(tarball) and \
            time.time() - os.path.getmtime(tarball) < CACHE_MAX_AGE:
        note("stage 1 from the cache: %s" % tarball)
        os.mkdir(root)
        run(["tar", "-C", root, "-xpf", tarball])
        return "from %s" % tarball
    log = os.path.join(work, "stage1.log")
    note("stage 1: debootstrap %s from %s, then %d packages downloaded (log: %s)"
         % (SUITE, main, len(pkgs), log))
    build_root(root, main, security, pkgs, log)
    if use_cache:
        os.makedirs(CACHE_DIR, exist_ok=True)
        # a name of its own: another run may be writing the same entry
        tmp = "%s.%d.tmp" % (tarball, os.getpid())
        run(["tar", "-C", root, "-cpf", tmp, "."])
        os.replace(tmp, tarball)
        for old in os.listdir(CACHE_DIR):
            if old.startswith(SUITE + "-") and old.endswith(".tar") and \
                    old != os.path.basename(tarball):
                os.unlink(os.path.join(CACHE_DIR, old))
    return "made with debootstrap from %s" % main


def tree_files():
    """The working tree's files: tracked and untracked ones git does not
    ignore, as they are now; without git (a tarball), every file but build
    directories."""
    names = set()
    try:
        for args in (["--cached"], ["--others", "--exclude-standard"]):
            out = subprocess.run(["git", "-C", TOP, "ls-files", "-z"] + args,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 check=True).stdout
            names.update(n for n in out.decode().split("\0") if n)
        return names
    except (OSError, subprocess.CalledProcessError):
        pass
    for d, dirs, files in os.walk(TOP):
        dirs[:] = [x for x in dirs if x != ".git" and x != "__pycache__"
                   and not (d == TOP and x.startswith("build"))]
        names.update(os.path.relpath(os.path.join(d, f), TOP) for f in files)
    return names


def copy_tree(dest):
    """The working tree as it is copied to DEST; no .git."""
    names = tree_files()
    copied = 0
    for name in sorted(names):
        src = os.path.join(TOP, name)
        if not os.path.lexists(src):
            continue   # deleted in the working tree
        dst = os.path.join(dest, name)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
        copied += 1
    return copied


# --- stage 2 ----------------------------------------------------------------
def stage2(tap, root, work, way):
    argv = ["unshare", "--mount", "--pid", "--fork", "--net", "--uts",
            "--mount-proc", "--kill-child",
            sys.executable, "-u", os.path.join(HERE, "stage2.py"),
            root, work, str(tap.n + 1), way]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + STAGE2_TIMEOUT
    done = False
    try:
        for raw in p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            m = re.match(r"^(not ok|ok) (\d+)\b", line)
            if m:
                tap.n = int(m.group(2))
                tap.failed += m.group(1) == "not ok"
                print(line)
            else:
                done = done or line == "# stage 2 done"
                print(line if line.startswith("#") else "# " + line)
            sys.stdout.flush()
            if time.monotonic() > deadline:
                p.kill()
                tap.ok(False, "stage 2 finished within %d s" % STAGE2_TIMEOUT)
                break
        status = p.wait()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if not done or status not in (0, 1):
        tap.ok(False, "stage 2 ran to its end", ["exit status %d" % status])


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(path.rstrip("/") + "/")]


def cleanup(work):
    if os.environ.get("SOARLIST_INSTALL_KEEP") == "1":
        note("kept: %s (root, logs, the sink's messages)" % work)
        return
    left = mounts_under(work)
    if left:
        note("NOT removing %s: still mounted: %s" % (work, left))
        return
    subprocess.run(["rm", "-rf", "--one-file-system", work])


def run_readme(way="source", skip_var=SKIP_VAR, after=None):
    """The README's installation WAY's way ("source": this test;
    "package": tests/package/) in a fresh root; then AFTER(tap, root,
    work), if given, before the root is removed. The exit status."""
    tap = Tap()
    if os.environ.get(skip_var) == "1":
        print("ok 1 # SKIP %s=1: the README's installation was not run" % skip_var)
        print("1..1")
        return 0
    if os.geteuid() != 0:
        tap.ok(False, "run as root", ["this test needs root (debootstrap, "
               "chroot, namespaces): run it as root, or set %s=1 to leave it out"
               % skip_var])
        return tap.finish()
    with open(os.path.join(TOP, "README"), encoding="utf-8") as f:
        text = f.read()
    try:
        pkgs = packages(text)
    except (readme.ReadmeError, RuntimeError) as e:
        tap.ok(False, "the README's commands can be read", str(e).splitlines())
        return tap.finish()
    tap.ok(True, "the README's commands can be read (%d packages to install)" % len(pkgs))
    os.makedirs("/var/tmp", exist_ok=True)
    work = tempfile.mkdtemp(prefix="soarlist-%s." % way, dir="/var/tmp")
    os.chmod(work, 0o755)
    root = os.path.join(work, "root")
    try:
        try:
            ensure_tools()
            how = stage1(root, work, pkgs)
        except (RuntimeError, OSError) as e:
            tap.ok(False, "stage 1: a Debian 12 root with the README's packages "
                   "downloaded", str(e).splitlines())
            return tap.finish()
        tap.ok(True, "stage 1: a Debian 12 root with the README's packages "
               "downloaded (%s)" % how)
        n = copy_tree(os.path.join(root, "root", "soarlist"))
        tap.ok(n > 0, "the working tree copied to /root/soarlist (%d files)" % n)
        stage2(tap, root, work, way)
        if after is not None:
            after(tap, root, work)
    finally:
        cleanup(work)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(run_readme())
