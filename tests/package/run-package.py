#!/usr/bin/env python3
"""run-package.py - the Debian package, built and installed as the README
says, in a fresh Debian 12 root.

    python3 tests/package/run-package.py      (as root; meson test does it)

The install test's machinery (tests/install/run-readme.py, stage2.py)
runs the README's "Installing on a mail server" the package's way: in a
fresh Debian 12 root made with debootstrap, with no network, apt-get
build-dep, dpkg-buildpackage -us -uc -b and apt install of the .deb, then
Postfix wired with the examples the package installed under
/usr/share/doc/soarlist/examples, and every check of the install test:
a member's post reaches each member once through that root's Postfix,
strangers are refused at RCPT, doctor passes, backup and restore, the
club lifecycle.

Then, on the root it leaves, what is the package's own:
- lintian (this machine's) on the .changes the README's build made: no
  error and no warning (debian/soarlist.lintian-overrides justifies any);
- the files where Debian policy and the README put them, the programs'
  paths in the examples and the units those of this installation;
- /etc/soarlist/soarlist.conf a conffile; as shipped, a configuration
  with no club that syncs nothing (empty Postfix tables, exit 0);
- the soarlist system user and group, the directories' owners and modes;
- apt-get remove keeps the data and the configuration; apt-get purge
  removes both, and leaves the user (Debian policy).

SOARLIST_SKIP_PACKAGE_TEST=1 skips it (one skipped point, which
tests/summary.py reports as skipped rather than failed, as it does for the
install test's variable). SOARLIST_INSTALL_KEEP=1 keeps the root.
"""
import glob
import io
import os
import re
import stat
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
INSTALL = os.path.join(TOP, "tests", "install")
sys.path.insert(0, INSTALL)
import runner  # noqa: E402

SKIP_VAR = "SOARLIST_SKIP_PACKAGE_TEST"
CONFFILE = "/etc/soarlist/soarlist.conf"
EXAMPLES = "/usr/share/doc/soarlist/examples"
# what the package installs, as Debian and the README want it
FILES = ["/usr/bin/soarlist", "/usr/libexec/soarlist/soarlist-deliver",
         "/usr/share/man/man1/soarlist.1.gz", "/usr/share/man/man5/soarlist.conf.5.gz",
         "/usr/share/man/man8/soarlist-deliver.8.gz", CONFFILE,
         "/usr/lib/sysusers.d/soarlist.conf", "/usr/lib/tmpfiles.d/soarlist.conf",
         "/lib/systemd/system/soarlist-sync.service", "/lib/systemd/system/soarlist-sync.timer",
         "/lib/systemd/system/soarlist-metrics.service",
         "/lib/systemd/system/soarlist-metrics.timer",
         EXAMPLES + "/postfix/master.cf.fragment", EXAMPLES + "/postfix/main.cf.fragment",
         EXAMPLES + "/cron/soarlist-sync", EXAMPLES + "/cron/soarlist-metrics",
         EXAMPLES + "/soarlist.conf.sample", "/usr/share/doc/soarlist/copyright"]
# (path, owner, group, mode) after installation
DIRS = [("/var/lib/soarlist", "soarlist", "soarlist", 0o755),
        ("/var/lib/soarlist/postfix", "soarlist", "soarlist", 0o755),
        ("/etc/soarlist/keys", "root", "soarlist", 0o750)]


def path(root, p):
    return os.path.join(root, p.lstrip("/"))


def chroot(root, *argv):
    """(status, output) of ARGV run in ROOT."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
    p = subprocess.run(["chroot", root] + list(argv), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def account(root, name):
    """(passwd fields, group fields) of NAME in ROOT, or Nones."""
    def find(f):
        try:
            with open(path(root, f)) as fh:
                for line in fh:
                    w = line.rstrip("\n").split(":")
                    if w[0] == name:
                        return w
        except OSError:
            pass
        return None
    return find("/etc/passwd"), find("/etc/group")


def check_lintian(tap, root):
    changes = sorted(glob.glob(path(root, "/root/soarlist_*.changes")))
    if not changes:
        tap.ok(False, "lintian: the README's build made a .changes", ["none in /root"])
        return
    p = subprocess.run(["lintian", "--no-tag-display-limit", changes[-1]],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode("utf-8", "replace")
    bad = [l for l in out.splitlines() if re.match(r"^[EW]: ", l)]
    tap.ok(p.returncode == 0 and not bad,
           "lintian %s: no error, no warning" % os.path.basename(changes[-1]),
           ["exit %d" % p.returncode] + out.splitlines()[-30:])


def check_files(tap, root):
    missing = [f for f in FILES if not os.path.exists(path(root, f))]
    tap.ok(not missing, "the package installed its %d files where Debian wants them"
           % len(FILES), ["missing: %s" % missing])
    wrong = []
    for f in (EXAMPLES + "/postfix/master.cf.fragment", EXAMPLES + "/cron/soarlist-sync",
              "/lib/systemd/system/soarlist-sync.service",
              "/lib/systemd/system/soarlist-metrics.service"):
        try:
            with open(path(root, f)) as fh:
                text = fh.read()
        except OSError as e:
            wrong.append("%s: %s" % (f, e))
            continue
        if "/usr/local" in text or "@" + "bindir@" in text or "@" + "libexecdir@" in text:
            wrong.append("%s names /usr/local or an unreplaced @...@" % f)
    with open(path(root, EXAMPLES + "/postfix/master.cf.fragment")) as fh:
        master = fh.read()
    for prog in ("/usr/libexec/soarlist/soarlist-deliver", "/usr/bin/soarlist"):
        if prog not in master:
            wrong.append("master.cf.fragment does not name %s" % prog)
    tap.ok(not wrong, "the examples and units name this installation's programs", wrong)


def check_conffile(tap, root):
    status, out = chroot(root, "dpkg-query", "-W", "-f", "${Conffiles}", "soarlist")
    tap.ok(status == 0 and re.search(r"^ %s [0-9a-f]{32}$" % re.escape(CONFFILE), out, re.M),
           "%s is a conffile of the package" % CONFFILE, [out])


def shipped_config(root):
    """The starting configuration as the .deb has it."""
    debs = sorted(glob.glob(path(root, "/root/soarlist_*.deb")))
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", debs[-1]],
                         stdout=subprocess.PIPE, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        return t.extractfile("." + CONFFILE).read().decode()


def check_starting_config(tap, root):
    """As shipped, the configuration syncs nothing: no club, empty tables.
    (The README replaced it; here it runs on a scratch directory.)"""
    try:
        text = shipped_config(root)
    except (OSError, KeyError, IndexError, subprocess.CalledProcessError) as e:
        tap.ok(False, "the package's starting configuration can be read", [str(e)])
        return
    clubs = re.findall(r"^\[club ", text, re.M)
    scratch = "/tmp/starting-config"
    os.makedirs(path(root, scratch + "/postfix"), exist_ok=True)
    with open(path(root, scratch + "/soarlist.conf"), "w") as f:
        f.write(text.replace("/var/lib/soarlist", scratch))
    status, out = chroot(root, "soarlist", "-c", scratch + "/soarlist.conf", "sync")
    tables = {}
    for name in ("domains", "transport", "recipients"):
        try:
            with open(path(root, "%s/postfix/%s" % (scratch, name))) as f:
                tables[name] = [l for l in f if l.strip() and not l.startswith("#")]
        except OSError:
            tables[name] = None
    tap.ok(not clubs and status == 0 and all(v == [] for v in tables.values()),
           "the package's %s, as shipped, names no club and syncs nothing "
           "(exit 0, empty Postfix tables)" % CONFFILE,
           ["clubs: %d" % len(clubs), "sync exit %d: %s" % (status, out.strip()),
            "tables: %r" % tables])


def check_account(tap, root):
    pw, gr = account(root, "soarlist")
    good = (pw is not None and gr is not None and int(pw[2]) < 1000
            and pw[3] == gr[2] and pw[5] == "/var/lib/soarlist"
            and pw[6] in ("/usr/sbin/nologin", "/sbin/nologin"))
    tap.ok(good, "the soarlist system user and group (sysusers.d): uid < 1000, "
           "home /var/lib/soarlist, no login shell", ["passwd: %r" % pw, "group: %r" % gr])
    if pw is None or gr is None:
        return
    names = {int(pw[2]): "soarlist", 0: "root"}
    groups = {int(gr[2]): "soarlist", 0: "root"}
    wrong = []
    for d, owner, group, mode in DIRS:
        try:
            st = os.lstat(path(root, d))
        except OSError as e:
            wrong.append("%s: %s" % (d, e))
            continue
        got = (names.get(st.st_uid, st.st_uid), groups.get(st.st_gid, st.st_gid),
               stat.S_IMODE(st.st_mode))
        if not stat.S_ISDIR(st.st_mode) or got != (owner, group, mode):
            wrong.append("%s: %s:%s %04o, want %s:%s %04o" % ((d,) + got + (owner, group, mode)))
    tap.ok(not wrong, "the package's directories (tmpfiles.d) with their owners and modes",
           wrong)


def check_remove_purge(tap, root):
    status, out = chroot(root, "apt-get", "remove", "-y", "soarlist")
    kept = [p for p in ("/var/lib/soarlist/soarlist.db", CONFFILE, "/etc/soarlist/keys")
            if os.path.exists(path(root, p))]
    gone = not os.path.exists(path(root, "/usr/bin/soarlist"))
    tap.ok(status == 0 and gone and len(kept) == 3,
           "apt-get remove removes the programs and keeps the database, the "
           "configuration and the keys", ["exit %d" % status, "kept: %s" % kept]
           + out.splitlines()[-10:])
    status, out = chroot(root, "apt-get", "purge", "-y", "soarlist")
    left = [p for p in ("/var/lib/soarlist", "/etc/soarlist") if os.path.lexists(path(root, p))]
    pw, _ = account(root, "soarlist")
    tap.ok(status == 0 and not left and pw is not None,
           "apt-get purge removes /var/lib/soarlist and /etc/soarlist, and keeps "
           "the soarlist user", ["exit %d" % status, "left: %s" % left,
                                 "user: %r" % pw] + out.splitlines()[-10:])


def after(tap, root, work):
    check_lintian(tap, root)
    check_files(tap, root)
    check_conffile(tap, root)
    check_starting_config(tap, root)
    check_account(tap, root)
    check_remove_purge(tap, root)


if __name__ == "__main__":
    sys.exit(runner.run_readme("package", SKIP_VAR, after))
