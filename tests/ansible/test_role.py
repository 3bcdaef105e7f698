#!/usr/bin/env python3
"""test_role.py - the Ansible role without a machine, in seconds:
ansible-lint (Debian's, offline) passes on contrib/ansible with its
production profile; the role's Postfix merge (filter_plugins) adds
soarlist's settings to what a server has without losing any of the
server's own, puts the policy check first, and asks for nothing on a
second pass; the playbook of the README passes ansible-playbook
--syntax-check. TAP on stdout.
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
ROLE = os.path.join(TOP, "contrib", "ansible", "roles", "soarlist")
sys.path.insert(0, os.path.join(ROLE, "filter_plugins"))
sys.path.insert(0, os.path.join(TOP, "tests", "install"))
import readme  # noqa: E402
import soarlist_postfix as pf  # noqa: E402

N = FAILED = 0


def ok(cond, desc, diag=()):
    global N, FAILED
    N += 1
    FAILED += 0 if cond else 1
    print("%s %d - %s" % ("ok" if cond else "not ok", N, desc))
    if not cond:
        for line in ([diag] if isinstance(diag, str) else diag):
            for l in str(line).splitlines():
                print("# " + l)
    sys.stdout.flush()
    return cond


def test_lint():
    p = subprocess.run(["ansible-lint", "--offline", "--profile", "production",
                        "roles/soarlist"], cwd=os.path.join(TOP, "contrib", "ansible"),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=dict(os.environ, NO_COLOR="1", HOME=tempfile.gettempdir()))
    out = p.stdout.decode("utf-8", "replace")
    ok(p.returncode == 0 and re.search(r"Passed with production profile", out),
       "ansible-lint passes on the role (production profile)",
       ["exit %d" % p.returncode] + out.splitlines()[-30:])


def fragment(name):
    with open(os.path.join(TOP, "contrib", "postfix", name)) as f:
        return f.read()


def test_merge():
    wanted = pf.soarlist_main_settings(fragment("main.cf.fragment"))
    ok(wanted.get("relay_domains") == "hash:/var/lib/soarlist/postfix/domains"
       and wanted.get("smtpd_recipient_restrictions", "").startswith(
           "check_policy_service unix:private/soarlist-policy,")
       and "smtpd_sender_login_maps" not in wanted,
       "main.cf.fragment's settings are read, its commented ones left out", repr(wanted))
    fresh = pf.soarlist_main_merge({}, wanted)
    ok(fresh == wanted, "on a fresh Postfix every setting is the fragment's", repr(fresh))
    server = {"relay_domains": "example.com", "transport_maps": "hash:/etc/postfix/transport",
              "relay_recipient_maps": "", "recipient_delimiter": "-",
              "smtpd_recipient_restrictions":
                  "permit_mynetworks, check_client_access hash:/etc/postfix/access, "
                  "reject_unauth_destination, check_policy_service unix:private/soarlist-policy",
              "soarlist_destination_recipient_limit": "",
              "soarlist-policy_time_limit": "3600s"}
    m = pf.soarlist_main_merge(server, wanted)
    want = {
        "relay_domains": "example.com, hash:/var/lib/soarlist/postfix/domains",
        "transport_maps": "hash:/var/lib/soarlist/postfix/transport, hash:/etc/postfix/transport",
        "relay_recipient_maps": "hash:/var/lib/soarlist/postfix/recipients",
        "recipient_delimiter": "-+",
        "smtpd_recipient_restrictions":
            "check_policy_service unix:private/soarlist-policy, permit_mynetworks, "
            "check_client_access hash:/etc/postfix/access, reject_unauth_destination",
        "soarlist_destination_recipient_limit": "1",
    }
    ok(m == want, "a server's own settings are kept: soarlist's tables added, the policy "
       "check moved first, a value already right left alone", ["got  %r" % m, "want %r" % want])
    expr = "${{$compatibility_level} <level {2} ? {$mydestination} : {}}"
    m2 = pf.soarlist_main_merge({"relay_domains": expr,
                                 "smtpd_recipient_restrictions": "$my_restrictions"}, wanted)
    ok(m2.get("relay_domains") == expr + ", hash:/var/lib/soarlist/postfix/domains"
       and m2.get("smtpd_recipient_restrictions") ==
       "check_policy_service unix:private/soarlist-policy, $my_restrictions",
       "a value with an expression or a reference is kept whole", repr(m2))
    server.update(m)
    ok(pf.soarlist_main_merge(server, wanted) == {},
       "a second pass asks for no change", repr(pf.soarlist_main_merge(server, wanted)))
    master = pf.soarlist_master_entries(fragment("master.cf.fragment.in"))
    ok(sorted(master) == ["soarlist-policy/unix", "soarlist/unix"]
       and master["soarlist/unix"].endswith("argv=@libexecdir@/soarlist/soarlist-deliver "
                                            "-f ${sender} -- ${recipient}"),
       "master.cf.fragment's two services are read, continuation lines joined", repr(master))
    shown = {"soarlist/unix": "soarlist   unix  -   n   n   -   -   pipe\n  " +
             master["soarlist/unix"].split(" pipe ", 1)[1], "soarlist-policy/unix": ""}
    ok(pf.soarlist_master_merge(shown, master) == {"soarlist-policy/unix":
                                                   master["soarlist-policy/unix"]},
       "an entry postconf -M shows as wanted is left alone, a missing one added",
       repr(pf.soarlist_master_merge(shown, master)))


def test_readme_playbook():
    with open(os.path.join(TOP, "README"), encoding="utf-8") as f:
        cmds = readme.extract(f.read(), readme.ANSIBLE)
    book = [c for c in cmds if c.first.startswith("cat > soarlist.yml")]
    if not ok(len(book) == 1, "the README writes one playbook, soarlist.yml",
              [c.first for c in cmds]):
        return
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "soarlist.yml"), "w") as f:
            f.write("\n".join(book[0].lines[1:-1]) + "\n")
        with open(os.path.join(d, "vault.yml"), "w") as f:
            f.write("vault_soarlist_api_key: x\n")
        os.makedirs(os.path.join(d, "contrib", "ansible", "roles"))
        os.symlink(ROLE, os.path.join(d, "contrib", "ansible", "roles", "soarlist"))
        p = subprocess.run(["ansible-playbook", "--syntax-check", "soarlist.yml"], cwd=d,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=dict(os.environ, HOME=d, ANSIBLE_NOCOLOR="1"))
    out = p.stdout.decode("utf-8", "replace")
    ok(p.returncode == 0, "the README's playbook passes ansible-playbook --syntax-check",
       out.splitlines()[-20:])


if __name__ == "__main__":
    test_lint()
    test_merge()
    test_readme_playbook()
    print("1..%d" % N)
    sys.exit(1 if FAILED else 0)
