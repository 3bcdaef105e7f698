#!/usr/bin/env python3
"""run-role.py - the Ansible role, applied twice to a fresh Debian 12 root
as the README's "Installing with Ansible" says, then a post through it.

    python3 tests/ansible/run-role.py      (as root; meson test does it)

The install test's machinery (tests/install/run-readme.py, stage2.py)
makes the root (debootstrap, every package the README installs
downloaded) and the world around it (Manage2Soar's HTTPS API at the
club's host, the smarthost with STARTTLS and a login, no network but
loopback, no init system). In the root, as the operator's own roles
would, Postfix is installed as step 1 says, with step 5's smarthost
login, and started. Then every command of "Installing with Ansible", in
order: Debian's ansible, the package built with dpkg-buildpackage, the
API key in an ansible-vault file, the playbook, ansible-playbook with
connection local. The first run must change the machine and fail
nowhere; the same command again must report changed=0. The package
removed, the playbook with soarlist_apt_repository (a local file:
repository of the same build) instead of soarlist_deb installs it again,
and a second run changes nothing. Then the
README's member post reaches every member once with the README's
headers, through the smarthost over TLS; the README's stranger is refused
at RCPT TO; the cron entries the role installed (no systemd here) run
and exit 0; the policy check is first in smtpd_recipient_restrictions;
soarlist doctor exits 0.

SOARLIST_SKIP_ANSIBLE_TEST=1 skips it (one skipped point, which
tests/summary.py reports as skipped rather than failed).
SOARLIST_INSTALL_KEEP=1 keeps the root.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
INSTALL = os.path.join(TOP, "tests", "install")
sys.path.insert(0, INSTALL)
import runner  # noqa: E402

SKIP_VAR = "SOARLIST_SKIP_ANSIBLE_TEST"

if __name__ == "__main__":
    sys.exit(runner.run_readme("ansible", SKIP_VAR))
