"""test_doctor.py - `soarlist doctor` against a real installation: a
private Postfix on 127.0.0.1 wired as contrib/postfix says
(tests/e2e/postfix_env.py), broken in each way an administrator can break
it. Each scenario breaks one thing, sees doctor exit 1 with one line
naming what is wrong and how to fix it, and puts the thing back (so that
no breakage hides another): the healthy installation gives exit 0.

doctor runs as root, as an administrator runs it ("# soarlist doctor"),
and, where it matters, as the pipe user (nobody), as the existing
scenarios of test_postfix.py do.

When Postfix cannot be installed or started, every scenario is reported as
skipped with the reason (which tap.py turns into "not ok").
"""
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
import postfix_env  # noqa: E402
import tap  # noqa: E402

POSTCONF = postfix_env.POSTCONF
SHARED = postfix_env.ModuleInstance(lambda: Instance())  # class below
# a list name that can be a local part (the canonical M2S answer has one
# that cannot, "Board Members": doctor reports it, see test_list_names)
USABLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def healthy_api(api):
    """The M2S answer API without the list names mail cannot use."""
    api = json.loads(json.dumps(api))
    api["lists"] = {k: v for k, v in api["lists"].items() if USABLE.match(k)}
    api["bypass_lists"] = [k for k in api["bypass_lists"] if USABLE.match(k)]
    return api


class Instance(postfix_env.Instance):
    """The e2e instance, with an archive and a private OpenDKIM config
    path (absent unless a scenario writes it, so that the host's
    /etc/opendkim.conf plays no part)."""

    def write_soarlist_config(self, extra=""):
        base = ("archive_dir = %s\nopendkim_config = %s\n"
                % (self.archive, self.opendkim_conf))
        super().write_soarlist_config(base + extra)

    def setup(self):
        self.archive = os.path.join(self.sl_dir, "archive")
        self.opendkim_conf = os.path.join(self.root, "opendkim", "opendkim.conf")
        os.mkdir(self.archive, 0o750)
        os.chown(self.archive, self.uid, self.gid)
        os.mkdir(os.path.dirname(self.opendkim_conf), 0o755)
        super().setup()
        self.write_api("ssc", healthy_api(postfix_env.ssc_api()))
        self.write_api("other", healthy_api(postfix_env.harness.OTHER_API))
        r = self.soarlist("sync")
        if r.returncode != 0:
            raise RuntimeError("soarlist sync failed: %s%s" % (r.stdout, r.stderr))


def setUpModule():
    SHARED.start()


def tearDownModule():
    SHARED.stop()


class Doctor(unittest.TestCase):
    def setUp(self):
        self.inst = SHARED.use(self)
        self.T = self.inst.root

    # ------------------------------------------------------------ running

    def doctor(self, as_root=True, *args):
        if not as_root:
            return self.inst.soarlist("doctor", *args)
        return subprocess.run([self.inst.soarlist_bin, "-c", self.inst.config, "doctor"]
                              + list(args), capture_output=True, text=True, timeout=120)

    def fails(self, r):
        return [l for l in r.stdout.splitlines() if l.startswith("FAIL")]

    def assertHealthy(self, r):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.fails(r), [], r.stdout)
        self.assertRegex(r.stdout, r"\n\d+ checks, 0 failed\n$")

    def assertFails(self, r, *patterns):
        """Exit 1, and for each PATTERN one FAIL line matching it, and no
        other FAIL line (one breakage, one report: nothing else failed and
        nothing hid it); every line of the output is one whole result (FAIL
        lines with their fix)."""
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        for l in lines[:-1]:
            self.assertRegex(l, r"^(OK    |FAIL  .*; fix: .+)", r.stdout)
        self.assertRegex(lines[-1], r"^\d+ checks, [1-9]\d* failed$")
        found = []
        for p in patterns:
            hits = [l for l in self.fails(r) if re.search(p, l)]
            self.assertEqual(len(hits), 1, "want one FAIL line matching %r in:\n%s"
                             % (p, r.stdout))
            found += hits
        self.assertEqual(sorted(found), sorted(self.fails(r)), r.stdout)
        return found

    # ------------------------------------------------------------ breaking

    def edit(self, path, old, new):
        """Replace OLD by NEW in PATH (which must hold OLD), restored at cleanup."""
        with open(path) as f:
            text = f.read()
        self.assertIn(old, text)
        st = os.stat(path)
        self.addCleanup(self.restore_file, path, text, st)
        with open(path, "w") as f:
            f.write(text.replace(old, new))
        os.utime(path, (st.st_atime - 60, st.st_mtime - 60))  # postconf: no wait

    def restore_file(self, path, text, st):
        with open(path, "w") as f:
            f.write(text)
        os.chown(path, st.st_uid, st.st_gid)
        os.chmod(path, st.st_mode & 0o7777)
        os.utime(path, (st.st_atime, st.st_mtime))

    def master_cf(self):
        return os.path.join(self.inst.etc, "master.cf")

    def main_cf(self):
        return os.path.join(self.inst.etc, "main.cf")

    def chmod(self, path, mode, uid=None):
        st = os.stat(path)
        self.addCleanup(os.chown, path, st.st_uid, st.st_gid)
        self.addCleanup(os.chmod, path, st.st_mode & 0o7777)
        if uid is not None:
            os.chown(path, uid, -1)
        os.chmod(path, mode)

    def config(self, extra="", append=""):
        """Rewrite soarlist.conf with EXTRA in [soarlist] and APPEND at the
        end; the usual one at cleanup."""
        self.addCleanup(self.inst.write_soarlist_config)
        self.inst.write_soarlist_config(extra)
        if append:
            with open(self.inst.config, "a") as f:
                f.write(append)

    def private_copy(self, program, mode=0o755):
        """A copy of PROGRAM in T/private/bin, T/private being root's 0700."""
        d = os.path.join(self.T, "private", "bin")
        os.makedirs(d, exist_ok=True)
        os.chmod(os.path.dirname(d), 0o700)
        self.addCleanup(shutil.rmtree, os.path.dirname(d), True)
        dst = os.path.join(d, os.path.basename(program))
        shutil.copyfile(program, dst)
        os.chmod(dst, mode)
        return dst

    # ------------------------------------------------------------ scenarios

    def test_healthy(self):
        r = self.doctor()
        self.assertHealthy(r)
        for want in (r"^OK +Postfix is running \(/usr/sbin/postfix -c %s status\)$"
                     % re.escape(self.inst.etc),
                     r"^OK +soarlist pipe transport in master\.cf, recipient limit 1$",
                     r"^OK +policy service soarlist-policy in master\.cf, used by main\.cf$",
                     r"^OK +master\.cf service soarlist: nobody may execute ",
                     r"^OK +master\.cf service soarlist-policy: nobody may execute ",
                     r"^OK +pipe user nobody can read the config and the key files",
                     r"^OK +tables in \S+ match the database$",
                     r"^OK +tables in \S+ belong to the pipe user nobody$",
                     r"^OK +database and archive closed to others and not writable "
                     r"by the group$",
                     r"^OK +admin and owner addresses ",
                     r"^OK +club ssc: last sync succeeded "):
            self.assertRegex(r.stdout, re.compile(want, re.M))
        # the pipe user sees the same (postfix status answers root only)
        self.assertHealthy(self.doctor(False))

    def test_a_deliver_argv_does_not_exist(self):
        missing = os.path.join(self.T, "nowhere", "soarlist-deliver")
        self.edit(self.master_cf(), "argv=%s " % self.inst.deliver_bin, "argv=%s " % missing)
        self.assertFails(self.doctor(), r"^FAIL +master\.cf service soarlist argv=%s: %s: "
                         r"No such file or directory; fix: install the program"
                         % (re.escape(missing), re.escape(os.path.dirname(missing))))

    def test_a_deliver_argv_unreachable_or_not_executable(self):
        hidden = self.private_copy(self.inst.deliver_bin)
        self.edit(self.master_cf(), "argv=%s " % self.inst.deliver_bin, "argv=%s " % hidden)
        self.assertFails(self.doctor(), r"^FAIL +master\.cf service soarlist argv=%s: %s "
                         r"\(mode 0700, owner root\) does not let nobody search it; fix: "
                         % (re.escape(hidden), re.escape(os.path.join(self.T, "private"))))
        os.chmod(os.path.join(self.T, "private"), 0o755)
        os.chmod(hidden, 0o744)
        self.assertFails(self.doctor(), r"^FAIL +master\.cf service soarlist argv=%s: %s "
                         r"\(mode 0744, owner root\) does not let nobody execute it; fix: "
                         % (re.escape(hidden), re.escape(hidden)))

    def test_a_deliver_reads_another_config(self):
        other = os.path.join(self.T, "other.conf")
        self.edit(self.master_cf(), "argv=%s -c %s " % (self.inst.deliver_bin, self.inst.config),
                  "argv=%s -c %s " % (self.inst.deliver_bin, other))
        self.assertFails(self.doctor(), r"^FAIL +master\.cf service soarlist reads the config "
                         r"%s, not %s; fix: " % (re.escape(other), re.escape(self.inst.config)))
        # as the program reads its options: --config=FILE is the same
        self.edit(self.master_cf(), "argv=%s -c %s " % (self.inst.deliver_bin, other),
                  "argv=%s --config=%s " % (self.inst.deliver_bin, self.inst.config))
        self.assertHealthy(self.doctor())

    def test_a_deliver_without_user(self):
        self.edit(self.master_cf(), "flags=D user=nobody ", "flags=D ")
        self.assertFails(self.doctor(), r"^FAIL +master\.cf service soarlist has no user=; fix: ")

    def test_a_deliver_as_root_policy_as_mail_owner(self):
        self.edit(self.master_cf(), "flags=D user=nobody ", "flags=D user=root ")
        self.edit(self.master_cf(), "  user=nobody argv=%s " % self.inst.soarlist_bin,
                  "  user=postfix argv=%s " % self.inst.soarlist_bin)
        self.assertFails(
            self.doctor(),
            r"^FAIL +master\.cf service soarlist has user=root: pipe refuses to run a command "
            r"as root or as Postfix's mail_owner; fix: ",
            r"^FAIL +master\.cf service soarlist-policy has user=postfix: spawn refuses ")

    def test_b_policy_argv_does_not_exist(self):
        missing = os.path.join(self.T, "nowhere", "soarlist")
        self.edit(self.master_cf(), "argv=%s " % self.inst.soarlist_bin, "argv=%s " % missing)
        self.assertFails(self.doctor(), r"^FAIL +master\.cf service soarlist-policy argv=%s: "
                         r".*No such file or directory; fix: " % re.escape(missing))

    def test_b_policy_argv_unreachable(self):
        hidden = self.private_copy(self.inst.soarlist_bin)
        self.edit(self.master_cf(), "argv=%s " % self.inst.soarlist_bin, "argv=%s " % hidden)
        self.assertFails(self.doctor(), r"^FAIL +master\.cf service soarlist-policy argv=%s: "
                         r".* does not let nobody search it; fix: " % re.escape(hidden))

    def test_c_policy_service_name_mismatch(self):
        self.edit(self.master_cf(), "\nsoarlist-policy  unix", "\nsl-policy  unix")
        self.assertFails(
            self.doctor(),
            r"^FAIL +smtpd_recipient_restrictions: check_policy_service "
            r"unix:private/soarlist-policy has no master\.cf service soarlist-policy",
            r"^FAIL +master\.cf service sl-policy runs soarlist policy, but no "
            r"check_policy_service in main\.cf names it")

    def test_c_policy_service_of_a_master_cf_override_missing(self):
        # a submission port of its own, with its own restrictions (-o),
        # naming a policy service master.cf does not have
        self.edit(self.master_cf(), "# --- end of the fragment ---\n",
                  "# --- end of the fragment ---\n"
                  "127.0.0.1:2525 inet n - n - - smtpd\n"
                  "  -o smtpd_recipient_restrictions=check_policy_service"
                  "{unix:private/nosuch,default_action=DUNNO},permit_mynetworks,reject\n")
        self.assertFails(self.doctor(), r"^FAIL +127\.0\.0\.1:2525/inet/"
                         r"smtpd_recipient_restrictions: check_policy_service "
                         r"unix:private/nosuch has no master\.cf service nosuch ")

    def test_c_transport_name_mismatch(self):
        self.edit(self.master_cf(), "\nsoarlist  unix", "\nsoarlist2  unix")
        self.assertFails(
            self.doctor(),
            r"^FAIL +postconf -M shows no soarlist pipe transport, and the transport "
            r"table routes list mail to soarlist:",
            r"^FAIL +master\.cf service soarlist2 runs soarlist-deliver, but the transport "
            r"table routes list mail to soarlist:, never to soarlist2:")

    def test_c_policy_service_after_permit(self):
        self.edit(self.main_cf(),
                  "    check_policy_service unix:private/soarlist-policy,\n"
                  "    permit_mynetworks,\n",
                  "    permit_mynetworks,\n"
                  "    check_policy_service unix:private/soarlist-policy,\n")
        self.assertFails(self.doctor(), r"^FAIL +smtpd_recipient_restrictions: "
                         r"permit_mynetworks comes before check_policy_service "
                         r"unix:private/soarlist-policy: .*backscatter")

    def test_d_postfix_not_running(self):
        self.inst.postfix("stop")
        self.addCleanup(self.inst.start)
        etc = re.escape(self.inst.etc)
        fix = r"; fix: start it: postfix -c %s start \(or systemctl start postfix\)$" % etc
        self.assertFails(self.doctor(), r"^FAIL +Postfix is not running \(/usr/sbin/postfix "
                         r"-c %s status: .*\)%s" % (etc, fix))
        # postfix(1) answers root only: the pipe user's doctor asks postqueue
        self.assertFails(self.doctor(False), r"^FAIL +Postfix is not running \(/usr/sbin/"
                         r"postqueue -c %s -p: .*mail system is down.*\)%s" % (etc, fix))

    def test_e_config_unreadable(self):
        self.chmod(self.inst.config, 0o600, uid=0)
        self.assertFails(self.doctor(), r"^FAIL +pipe user nobody cannot: %s \(mode 0600, "
                         r"owner root\) does not let nobody read it; fix: "
                         % re.escape(self.inst.config))

    def test_e_key_files_unreadable(self):
        keys = os.path.join(self.T, "keys")
        os.makedirs(keys, exist_ok=True)
        self.addCleanup(shutil.rmtree, keys, True)
        for name in ("default", "ssc"):
            with open(os.path.join(keys, name), "w") as f:
                f.write("secret\n")
            os.chmod(os.path.join(keys, name), 0o600)
        self.config("api_key_file = %s/default\n" % keys)
        with open(self.inst.config) as f:
            text = f.read()
        with open(self.inst.config, "w") as f:
            f.write(text.replace("[club ssc]\n", "[club ssc]\napi_key_file = %s/ssc\n" % keys))
        r = self.doctor()
        line, = self.assertFails(r, r"^FAIL +pipe user nobody cannot: ")
        for name in ("default", "ssc"):
            self.assertIn("%s/%s (mode 0600, owner root) does not let nobody read it"
                          % (keys, name), line)

    def test_e_database_and_directory(self):
        self.chmod(self.inst.db, 0o600, uid=0)
        self.assertFails(self.doctor(), r"^FAIL +pipe user nobody cannot: %s \(mode 0600, "
                         r"owner root\) does not let nobody read and write it(;|$)"
                         % re.escape(self.inst.db))
        self.chmod(self.inst.sl_dir, 0o755, uid=0)
        self.assertFails(self.doctor(), r"^FAIL +pipe user nobody cannot: %s \(mode 0755, "
                         r"owner root\) does not let nobody write into it; "
                         % re.escape(self.inst.sl_dir))

    def test_f_tables_owned_by_another_user(self):
        path = os.path.join(self.inst.maps, "transport.db")
        self.chmod(path, 0o644, uid=0)
        self.assertFails(self.doctor(), r"^FAIL +tables not owned or writable by the pipe "
                         r"user nobody: %s \(uid 0\); fix: chown -R nobody "
                         % re.escape(path))

    def test_f_tables_stale_against_the_database(self):
        # the database changes (a new list) but the tables cannot follow
        api = healthy_api(postfix_env.harness.OTHER_API)
        api["lists"]["pilots"] = ["a@example.org"]
        self.inst.write_api("other", api)
        self.addCleanup(self.inst.soarlist, "sync")
        self.addCleanup(self.inst.write_api, "other", healthy_api(postfix_env.harness.OTHER_API))
        self.config("postmap = /bin/false\n")
        r = self.inst.soarlist("sync")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.inst.write_soarlist_config()
        self.assertFails(self.doctor(), r"^FAIL +tables in %s: .*recipients \(out of date\)"
                         r".*; fix: run 'soarlist postfix-maps'" % re.escape(self.inst.maps))

    def test_g_admin_or_owner_loops_into_a_club_domain(self):
        self.config(append="\n[list ssc/members]\nowners = chair@skylinesoaring.org\n")
        with open(self.inst.config) as f:
            text = f.read()
        with open(self.inst.config, "w") as f:
            f.write(text.replace("admin = %s" % postfix_env.ADMIN,
                                 "admin = postmaster@other.manage2soar.com"))
        self.assertFails(
            self.doctor(),
            r"^FAIL +\[soarlist\] admin = postmaster@other\.manage2soar\.com: a club domain "
            r"where no mailbox takes it .*loops back into soarlist; fix: ",
            r"^FAIL +\[list ssc/members\] owners = chair@skylinesoaring\.org: ")
        # a list address is a mailbox of sorts: that is no loop
        self.inst.write_soarlist_config()
        with open(self.inst.config) as f:
            text = f.read()
        with open(self.inst.config, "w") as f:
            f.write(text.replace("admin = %s" % postfix_env.ADMIN,
                                 "admin = members@other.manage2soar.com"))
        self.assertHealthy(self.doctor())

    def test_h_database_readable_by_others(self):
        self.chmod(self.inst.db, 0o644)
        self.assertFails(self.doctor(), r"^FAIL +database, archive or key files open to "
                         r"others or writable by the group: %s \(mode 0644\).*; fix: "
                         r"chmod o-rwx,g-w %s\*" % (re.escape(self.inst.db),
                                                    re.escape(self.inst.db)))

    def test_h_archive_readable_by_others(self):
        d = os.path.join(self.inst.archive, "ssc", "members", "cur")
        os.makedirs(d)
        self.addCleanup(shutil.rmtree, os.path.join(self.inst.archive, "ssc"), True)
        for p in (os.path.join(self.inst.archive, "ssc"), os.path.dirname(d)):
            os.chmod(p, 0o750)
        os.chmod(d, 0o755)
        with open(os.path.join(d, "1.eml"), "w") as f:
            f.write("Subject: board minutes\n\nsecret\n")
        os.chmod(os.path.join(d, "1.eml"), 0o644)
        line, = self.assertFails(self.doctor(), r"^FAIL +database, archive or key files open "
                                 r"to others or writable by the group:")
        self.assertIn("%s (mode 0755)" % d, line)
        self.assertIn("%s/1.eml (mode 0644)" % d, line)

    def write_dkim(self, signing, table_type="refile:"):
        table = os.path.join(os.path.dirname(self.inst.opendkim_conf), "SigningTable")
        with open(table, "w") as f:
            f.write(signing)
        with open(self.inst.opendkim_conf, "w") as f:
            f.write("# OpenDKIM\nSyslog yes\nKeyTable file:/etc/opendkim/KeyTable\n"
                    "SigningTable %s%s\nSocket inet:8891@localhost\n" % (table_type, table))
        self.addCleanup(os.unlink, self.inst.opendkim_conf)
        return table

    def milter(self):
        run = postfix_env.run
        run([POSTCONF, "-c", self.inst.etc, "-e", "non_smtpd_milters = inet:localhost:8891"])
        self.addCleanup(run, [POSTCONF, "-c", self.inst.etc, "-X", "non_smtpd_milters"])

    def test_i_domain_missing_from_opendkim_signing_table(self):
        table = self.write_dkim("*@ssc.manage2soar.com ssc\n*@skylinesoaring.org sky\n")
        self.assertFails(
            self.doctor(),
            r"^FAIL +OpenDKIM refile:%s does not sign club domain\(s\): "
            r"other\.manage2soar\.com; fix: add them to " % re.escape(table),
            r"^FAIL +OpenDKIM is configured \(%s\), but non_smtpd_milters is empty"
            % re.escape(self.inst.opendkim_conf))
        self.milter()
        self.assertFails(self.doctor(), r"does not sign club domain\(s\): other\.manage2soar\.com;")
        with open(table, "a") as f:
            f.write("*@other.manage2soar.com other\n")
        r = self.doctor()
        self.assertHealthy(r)
        self.assertIn("OK    OpenDKIM refile:%s signs every club domain" % table, r.stdout)

    def test_i_plain_signing_table(self):
        self.milter()
        table = self.write_dkim("ssc.manage2soar.com ssc\n.skylinesoaring.org sky\n", "file:")
        self.assertFails(self.doctor(), r"^FAIL +OpenDKIM file:%s does not sign club domain\(s\): "
                         r"other\.manage2soar\.com;" % re.escape(table))
        with open(table, "a") as f:
            f.write("*@other.manage2soar.com other\n")
        self.assertFails(self.doctor(), r"does not sign club domain\(s\): other\.manage2soar\.com;")
        with open(table, "a") as f:
            f.write("other.manage2soar.com other\n")
        self.assertHealthy(self.doctor())

    def test_i_signing_table_unreadable_or_absent(self):
        self.milter()
        table = self.write_dkim("")
        os.unlink(table)
        self.assertFails(self.doctor(), r"^FAIL +OpenDKIM refile:%s: cannot read %s; fix: "
                         % (re.escape(table), re.escape(table)))
        with open(self.inst.opendkim_conf, "w") as f:
            f.write("Syslog yes\nSocket inet:8891@localhost\n")
        self.assertFails(self.doctor(), r"^FAIL +OpenDKIM %s has neither SigningTable nor "
                         r"Domain: it signs nothing; fix: " % re.escape(self.inst.opendkim_conf))

    def require_auth(self, authserv_id):
        self.config("authserv_id = %s\n" % authserv_id,
                    append="[list ssc/members]\nrequire_auth = dmarc\n")

    def smtpd_milter(self):
        run = postfix_env.run
        run([POSTCONF, "-c", self.inst.etc, "-e", "smtpd_milters = inet:localhost:8891"])
        self.addCleanup(run, [POSTCONF, "-c", self.inst.etc, "-X", "smtpd_milters"])

    def dkim_conf(self, *lines):
        """A signing OpenDKIM configuration (every club domain) plus LINES."""
        conf = self.inst.opendkim_conf
        if not os.path.exists(conf):
            self.write_dkim("*@ssc.manage2soar.com ssc\n*@skylinesoaring.org sky\n"
                            "*@other.manage2soar.com other\n")
            with open(conf) as f:
                self.dkim_base = f.read()
        with open(conf, "w") as f:
            f.write(self.dkim_base + "".join(l + "\n" for l in lines))

    def test_k_require_auth_without_opendkim_is_not_judged(self):
        self.require_auth("mx.soarlist.test")
        r = self.doctor()
        self.assertHealthy(r)
        self.assertIn("OK    ssc/members has require_auth = dmarc; no OpenDKIM configuration "
                      "(%s): the verifier writing authserv-id mx.soarlist.test is not checked"
                      % self.inst.opendkim_conf, r.stdout)

    def test_k_require_auth_verifier(self):
        # Postfix's myhostname is mx.e2e.test: a client's own headers stand
        # below its Received, which does not name the authserv-id
        self.require_auth("mx.soarlist.test")
        self.milter()
        self.dkim_conf("AuthservID mx.other.test")
        self.assertFails(
            self.doctor(),
            r"^FAIL +OpenDKIM writes authserv-id mx\.other\.test, soarlist trusts "
            r"mx\.soarlist\.test: every post to a list with require_auth = dmarc counts as "
            r"unauthenticated; fix: set AuthservID mx\.soarlist\.test",
            r"^FAIL +smtpd_milters is empty: no milter verifies incoming mail")
        self.dkim_conf("AuthservID mx.soarlist.test", "Mode s")
        self.assertFails(self.doctor(), r"^FAIL +OpenDKIM Mode s does not verify")
        self.dkim_conf("AuthservID mx.soarlist.test", "AuthservIDWithJobID yes")
        self.assertFails(self.doctor(), r"writes authserv-id mx\.soarlist\.test/JOBID "
                         r"\(AuthservIDWithJobID\)",
                         r"^FAIL +smtpd_milters is empty")
        self.smtpd_milter()
        self.dkim_conf("AuthservID mx.soarlist.test")
        r = self.doctor()
        self.assertHealthy(r)
        for want in ("OK    OpenDKIM writes the authserv-id soarlist trusts (mx.soarlist.test)",
                     "OK    Authentication-Results a client sends stand below Postfix's own "
                     "Received (by mx.e2e.test, not mx.soarlist.test): never trusted",
                     "OK    OpenDKIM verifies incoming mail (Mode sv, smtpd_milters)"):
            self.assertIn(want, r.stdout)

    def test_k_require_auth_verifier_only(self):
        # the README's OpenDKIM: Debian's file with lines added at its end
        # (the last value of a key counts, for opendkim and for doctor); a
        # verifier only, whose SigningTable doctor does not ask for
        self.require_auth("mx.soarlist.test")
        self.smtpd_milter()
        with open(self.inst.opendkim_conf, "w") as f:
            f.write("Syslog yes\nMode sv\nSocket local:/run/opendkim/opendkim.sock\n"
                    "Mode v\nAuthservID mx.soarlist.test\nRemoveARAll yes\n"
                    "Socket inet:8891@localhost\n")
        self.addCleanup(os.unlink, self.inst.opendkim_conf)
        r = self.doctor()
        self.assertHealthy(r)
        self.assertIn("OK    OpenDKIM %s: Mode v verifies only; it signs no list mail"
                      % self.inst.opendkim_conf, r.stdout)
        self.assertIn("OK    OpenDKIM verifies incoming mail (Mode v, smtpd_milters)", r.stdout)

    def test_k_require_auth_authserv_id_is_myhostname(self):
        # OpenDKIM's default authserv-id is the MTA's name: Postfix's own
        # Received then names it too, and only RemoveARAll keeps a client's
        # forged headers out
        self.require_auth("mx.e2e.test")
        self.milter()
        self.smtpd_milter()
        self.dkim_conf()
        self.assertFails(self.doctor(),
                         r"^FAIL +OpenDKIM keeps the Authentication-Results a client sends as "
                         r"mx\.e2e\.test with spf= or dmarc= results \(no RemoveARAll\).*; "
                         r"fix: set RemoveARAll yes")
        self.dkim_conf("RemoveARAll yes", "KeepAuthResults yes")
        self.assertFails(self.doctor(), r"^FAIL +OpenDKIM keeps the Authentication-Results")
        self.dkim_conf("RemoveARAll yes")
        r = self.doctor()
        self.assertHealthy(r)
        self.assertIn("OK    OpenDKIM writes the authserv-id soarlist trusts (mx.e2e.test)", r.stdout)
        self.assertIn("OK    OpenDKIM removes the Authentication-Results a client sends as "
                      "mx.e2e.test (RemoveARAll)", r.stdout)

    def test_j_last_sync_too_old(self):
        self.config("sync_max_age = 1s\n")
        want = r"^FAIL +club (ssc|other): last sync succeeded \d+ s ago \(limit 1 s\); fix: "
        r = self.inst.wait_for("a sync older than 1 s", lambda: (
            lambda r: r if r.returncode == 1 else None)(self.doctor()), interval=0.5)
        self.assertFails(r, want.replace("(ssc|other)", "ssc"), want.replace("(ssc|other)", "other"))

    def test_list_names_mail_cannot_use(self):
        self.addCleanup(self.inst.soarlist, "sync")
        self.addCleanup(self.inst.write_api, "ssc", healthy_api(postfix_env.ssc_api()))
        self.inst.write_api("ssc", postfix_env.ssc_api())
        r = self.inst.soarlist("sync")
        self.assertIn("Board Members", r.stdout + r.stderr)
        self.assertFails(self.doctor(), r'^FAIL +club ssc: M2S list "Board Members" ')

    def test_l_relayhost_credentials(self):
        """A smarthost (relayhost): without login, an OK line that says
        so; with smtp_sasl_auth_enable, each way the credentials can be
        wrong is one FAIL, and the right setup is healthy."""
        run = postfix_env.run
        relay = "[relay.e2e.test]:2525"
        table = os.path.join(self.inst.etc, "sasl_passwd")

        def postconf(*settings):
            for setting in settings:
                run([POSTCONF, "-c", self.inst.etc, "-e", setting])

        def relay_lines(r):
            return [l for l in r.stdout.splitlines() if "relayhost" in l]

        for name in ("relayhost", "smtp_sasl_auth_enable", "smtp_sasl_password_maps",
                     "smtp_tls_security_level"):
            self.addCleanup(run, [POSTCONF, "-c", self.inst.etc, "-X", name])
        r = self.doctor()
        self.assertHealthy(r)
        self.assertEqual(relay_lines(r), [], "no relayhost, no check")
        postconf("relayhost = " + relay)
        r = self.doctor()
        self.assertHealthy(r)
        self.assertRegex(relay_lines(r)[0], r"^OK +relayhost \[relay\.e2e\.test\]:2525: "
                         r"Postfix does not log in to it")
        postconf("smtp_sasl_auth_enable = yes")
        self.assertFails(self.doctor(), r"^FAIL +relayhost .*: smtp_sasl_auth_enable = yes "
                         r"but no smtp_sasl_password_maps; fix: ")
        postconf("smtp_sasl_password_maps = hash:" + table)
        with open(table, "w") as f:
            f.write("[other.e2e.test]:2525 someone:secret\n")
        os.chmod(table, 0o600)
        run([postfix_env.POSTMAP, "-c", self.inst.etc, table])
        self.assertFails(self.doctor(), r"^FAIL +relayhost \[relay\.e2e\.test\]:2525: no "
                         r"credentials for it in smtp_sasl_password_maps \(hash:%s\); fix: "
                         r"add '\[relay\.e2e\.test\]:2525 USER:PASSWORD'" % re.escape(table))
        # smtp(8) also looks the relay up without its port
        with open(table, "w") as f:
            f.write("[relay.e2e.test] m2s-server:s3cret\n")
        run([postfix_env.POSTMAP, "-c", self.inst.etc, table])
        # Postfix's default: no TLS
        self.assertFails(self.doctor(), r"^FAIL +relayhost .*: smtp_tls_security_level = "
                         r"\(empty\): the password and the mail go to the relay in clear; fix: "
                         r"postconf -e smtp_tls_security_level=encrypt")
        postconf("smtp_tls_security_level = none")
        self.assertFails(self.doctor(), r"^FAIL +relayhost .*: smtp_tls_security_level = "
                         r"none: ")
        postconf("smtp_tls_security_level = encrypt")
        r = self.doctor()
        self.assertHealthy(r)
        self.assertRegex(relay_lines(r)[0], r"^OK +relayhost \[relay\.e2e\.test\]:2525: "
                         r"credentials in hash:%s, TLS encrypt$" % re.escape(table))
        os.chmod(table, 0o644)
        self.assertFails(self.doctor(), r"^FAIL +relayhost .*: the password table %s is "
                         r"readable by everyone \(mode 0644\); fix: chmod 0600 "
                         % re.escape(table))
        os.chmod(table, 0o600)
        os.chmod(table + ".db", 0o644)
        self.assertFails(self.doctor(), r"^FAIL +relayhost .*: the password table %s\.db is "
                         r"readable by everyone \(mode 0644\)" % re.escape(table))
        os.chmod(table + ".db", 0o600)
        with open(table, "w") as f:
            f.write("[relay.e2e.test] justaname\n")
        run([postfix_env.POSTMAP, "-c", self.inst.etc, table])
        self.assertFails(self.doctor(), r"^FAIL +relayhost .*: its entry in hash:%s is not "
                         r"USER:PASSWORD; fix: " % re.escape(table))


if __name__ == "__main__":
    tap.main()
