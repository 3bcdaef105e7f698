"""soarlist_postfix.py - the soarlist role's filters: soarlist's Postfix
settings, read from the fragments the package installs, merged into what
a server already has, so that the role changes main.cf and master.cf with
postconf only where they differ and keeps the operator's own settings.

    soarlist_main_settings(fragment)     main.cf.fragment -> {name: value}
    soarlist_main_merge(current, wanted) {name: value} to set (changes only)

CURRENT is what main.cf sets explicitly (postconf -n -h NAME): a
parameter left at its default counts as empty. (Postfix's own defaults can
be expressions, such as relay_domains' ${{$compatibility_level} <level {2}
? {$mydestination} : {}}, which are no list to add to; a server still at
a compatibility_level below 2 that relays $mydestination by that default
gets relay_domains = soarlist's table only.)
    soarlist_master_entries(fragment)    master.cf.fragment -> {"name/type": entry}
    soarlist_master_merge(current, wanted) {"name/type": entry} to set
"""
import re

# parameters that are lists: soarlist's items are added, the server's kept
APPEND = ("relay_domains", "relay_recipient_maps")
PREPEND = ("transport_maps",)     # first: a club domain's transport wins
RESTRICTIONS = ("smtpd_recipient_restrictions",)
CHARS = ("recipient_delimiter",)  # each character is a delimiter


def _logical_lines(text):
    """main.cf/master.cf logical lines: a line starting with whitespace
    continues the one before; comments and blank lines are left out."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line.strip())
    return out


def _items(value):
    return [w for w in re.split(r"[\s,]+", value or "") if w]


def soarlist_main_settings(fragment):
    settings = {}
    for line in _logical_lines(fragment):
        name, sep, value = line.partition("=")
        if sep:
            settings[name.strip()] = " ".join(value.split())
    return settings


def _merge_one(name, current, wanted):
    cur = _items(current)
    if name in APPEND or name in PREPEND:
        new = [w for w in _items(wanted) if w not in cur]
        if not new:
            return current
        if not current:
            return ", ".join(new)
        # the server's value is kept as it is written: it may hold a
        # ${...} expression, which splitting would break
        if name in PREPEND:
            return ", ".join(new) + ", " + current
        return current + ", " + ", ".join(new)
    if name in CHARS:
        missing = "".join(c for c in wanted if c not in (current or ""))
        return (current or "") + missing if missing else current
    if name in RESTRICTIONS:
        want = _items(wanted)
        if not cur:
            return ", ".join(_pairs(want))
        first = _pairs(want)[0].split()      # check_policy_service unix:...
        if cur[:len(first)] == first:
            return current
        if "$" in current:
            # an expression or a reference: put the check before it
            return " ".join(first) + ", " + current
        rest = _pairs(cur)
        rest = [p for p in rest if p.split() != first]
        return ", ".join([" ".join(first)] + rest)
    return wanted


# restrictions that take an argument, so that "check_policy_service X"
# stays one item when a list is written back
_WITH_ARG = re.compile(r"^(check_\w+|reject_rbl_client|reject_rhsbl_\w+|"
                       r"permit_dnswl_client|permit_rhswl_client)$")


def _pairs(tokens):
    out, i = [], 0
    while i < len(tokens):
        if _WITH_ARG.match(tokens[i]) and i + 1 < len(tokens):
            out.append(tokens[i] + " " + tokens[i + 1])
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


def soarlist_main_merge(current, wanted):
    """The settings of WANTED that CURRENT (name -> the server's value)
    lacks, merged with what the server has."""
    out = {}
    for name, value in wanted.items():
        merged = _merge_one(name, current.get(name, ""), value)
        if " ".join(_items(merged)) != " ".join(_items(current.get(name, ""))) \
                or (name not in APPEND + PREPEND + RESTRICTIONS + CHARS
                    and merged != current.get(name, "")):
            out[name] = merged
    return out


def soarlist_master_entries(fragment):
    entries = {}
    for line in _logical_lines(fragment):
        w = line.split()
        if len(w) >= 8:
            entries["%s/%s" % (w[0], w[1])] = " ".join(w)
    return entries


def soarlist_master_merge(current, wanted):
    """The entries of WANTED that CURRENT ("name/type" -> postconf -M's
    line, "" when absent) lacks or has otherwise."""
    return {k: v for k, v in wanted.items()
            if " ".join((current.get(k) or "").split()) != v}


class FilterModule:
    def filters(self):
        return {
            "soarlist_main_settings": soarlist_main_settings,
            "soarlist_main_merge": soarlist_main_merge,
            "soarlist_master_entries": soarlist_master_entries,
            "soarlist_master_merge": soarlist_master_merge,
        }
