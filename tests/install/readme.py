#!/usr/bin/env python3
"""readme.py - the commands of the README's install instructions.

The README shows every command an administrator types in an indented
block (4 spaces or more), after a root prompt "# ". A command line ending
in "\\" continues on the next line; a command with a here-document
(cat > FILE <<'EOF') takes every following line, blank ones included, up
to the terminator, with the block's indentation removed. Prose is indented
less than 4 spaces. A block right after a prose paragraph that starts
with "With systemd" or "Without systemd" is for that kind of installation
only; a block after a paragraph that does not mention systemd is for
every installation, and one after a paragraph that mentions systemd
otherwise is an error (which kind is it for?). The same paragraph may
name the way soarlist is installed first: "With the package" (the Debian
package) or "From source" (meson install), optionally followed by
", with systemd" or ", without systemd"; its block is then for that way
only (Command.way "package" or "source"; "all" otherwise).

extract(text, title) returns the commands of the section TITLE ("" for the
text above the first section: the README's top) as Command objects, in
order. Anything in a block that is neither a command, a continuation nor
a here-document line is an error (ReadmeError, naming the line), and so is
a section with no command at all: the install test must never run less
than the README shows.

    python3 tests/install/readme.py README      # print what would run
"""
import re
import sys

PROMPT = "# "
INDENT = 4
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1\s*$")
TITLE_RULE = re.compile(r"^(-{3,}|={3,})\s*$")

# the sections whose commands the install test runs, in README order
SECTIONS = ("", "Installing on a mail server")
# the section the role test runs (tests/ansible/), after Postfix is set up
ANSIBLE = "Installing with Ansible"
# the sections it runs after its checks of the installation, block by
# block, with its own checks between the blocks (stage2.py)
LATER = ("Backup and restore", "Suspending and removing a club")


class ReadmeError(Exception):
    pass


class Command:
    def __init__(self, section, line, variant):
        self.section = section
        self.line = line          # 1-based line number in the README
        self.variant = variant    # "all", "systemd" or "nosystemd"
        self.way = "all"          # "all", "package" or "source"
        self.lines = []           # the command as the README shows it

    @property
    def text(self):
        """The command as sh is given it."""
        return "\n".join(self.lines) + "\n"

    @property
    def first(self):
        return self.lines[0]

    def __repr__(self):
        return "Command(line %d, %s: %r)" % (self.line, self.variant, self.first)


def section_lines(text, title):
    """[(line number, line)] of section TITLE: from the line after its
    underline to the line before the next title ("" : from the top of the
    text, after the document title, to the first section title)."""
    lines = text.split("\n")
    titles = [i - 1 for i in range(1, len(lines))
              if TITLE_RULE.match(lines[i]) and lines[i - 1].strip()
              and len(lines[i].strip()) == len(lines[i - 1].rstrip())]
    if title == "":
        if not titles or not lines[titles[0] + 1].startswith("="):
            raise ReadmeError("README: no document title underlined with '='")
        start = titles[0] + 2
        end = titles[1] if len(titles) > 1 else len(lines)
    else:
        found = [t for t in titles if lines[t].strip() == title]
        if len(found) != 1:
            raise ReadmeError("README: %d sections titled %r (want one)"
                              % (len(found), title))
        start = found[0] + 2
        later = [t for t in titles if t > found[0]]
        end = later[0] if later else len(lines)
    return [(n + 1, lines[n]) for n in range(start, end)]


def indentation(line):
    if "\t" in line[:len(line) - len(line.lstrip())]:
        raise ReadmeError("a tab in the indentation")
    return len(line) - len(line.lstrip(" "))


# the paragraph openings that make a block one way's only
WAYS = (("With the package", "package"), ("From source", "source"))


def way_of(paragraph):
    """(way, rest of the paragraph) of the prose paragraph before a block:
    "With the package..." or "From source..." and what follows, capitalized
    again and without the comma, else ("all", the paragraph)."""
    words = " ".join(paragraph.split())
    for opening, way in WAYS:
        if words.startswith(opening):
            rest = words[len(opening):].lstrip(" ,")
            return way, rest[:1].upper() + rest[1:]
    return "all", words


def variant_of(paragraph):
    """The variant a block is for, from the prose paragraph just before it
    (after its way, way_of): "With systemd..." or "Without systemd...";
    None when the paragraph mentions systemd otherwise (ambiguous)."""
    words = " ".join(paragraph.split())
    if words.startswith("Without systemd"):
        return "nosystemd"
    if words.startswith("With systemd"):
        return "systemd"
    if "systemd" in words:
        return None
    return "all"


class _Parser:
    def __init__(self, title):
        self.title = title
        self.commands = []
        self.cmd = None          # the command being read
        self.block_indent = None
        self.heredoc = None      # its terminator while inside one
        self.continued = False
        self.para = []           # the prose paragraph before the block
        self.in_para = False

    def error(self, n, why, line):
        where = "section %r" % self.title if self.title else "the top"
        raise ReadmeError("README line %d (%s): %s: %r" % (n, where, why, line.strip()))

    def feed(self, n, line):
        try:
            ind = indentation(line) if line.strip() else 0
        except ReadmeError as e:
            self.error(n, str(e), line)
        if self.heredoc is not None:
            return self.heredoc_line(n, line, ind)
        if not line.strip():
            if self.continued:
                self.error(n, "a blank line after a line ending in '\\'", line)
            self.block_indent = None
            self.in_para = False
            return
        if ind < INDENT:
            if self.continued:
                self.error(n, "prose after a line ending in '\\'", line)
            if not self.in_para:
                self.para = []
            self.in_para = True
            self.block_indent = None
            self.para.append(line)
            return
        self.in_para = False
        self.block_line(n, line, ind)

    def block_line(self, n, line, ind):
        body = line[ind:]
        if self.continued:
            self.cmd.lines.append(line.rstrip())
        elif body.startswith(PROMPT) and body[len(PROMPT):].strip():
            if self.block_indent is None:
                self.block_indent = ind
            elif ind != self.block_indent:
                self.error(n, "a command indented unlike its block", line)
            way, rest = way_of(" ".join(self.para))
            variant = variant_of(rest)
            if variant is None:
                self.error(n, "the paragraph before this block mentions systemd "
                           "but starts with neither 'With systemd' nor "
                           "'Without systemd' (after 'With the package' or "
                           "'From source', if any)", line)
            self.cmd = Command(self.title, n, variant)
            self.cmd.way = way
            self.cmd.lines.append(body[len(PROMPT):].rstrip())
            self.commands.append(self.cmd)
        else:
            self.error(n, "neither a '# ' command nor the continuation of one", line)
        self.continued = line.rstrip().endswith("\\")
        m = HEREDOC.search(line.rstrip())
        if m and not self.continued:
            self.heredoc = m.group(2)

    def heredoc_line(self, n, line, ind):
        if line.strip() and ind < self.block_indent:
            self.error(n, "here-document line indented less than its command", line)
        content = line[self.block_indent:].rstrip() if line.strip() else ""
        self.cmd.lines.append(content)
        if content == self.heredoc:
            self.heredoc = None

    def finish(self, last):
        if self.heredoc is not None:
            raise ReadmeError("README: here-document of line %d never ends (no %s line)"
                              % (self.cmd.line, self.heredoc))
        if self.continued:
            raise ReadmeError("README line %d: the last command ends in '\\'" % last)
        if not self.commands:
            raise ReadmeError("README: no '# ' command in %s"
                              % ("section %r" % self.title if self.title else "the top"))
        return self.commands


def extract(text, title):
    """The Commands of section TITLE, in README order."""
    p = _Parser(title)
    last = 0
    for n, line in section_lines(text, title):
        p.feed(n, line)
        last = n
    return p.finish(last)


def extract_all(text):
    """The Commands of every section the install test runs."""
    out = []
    for title in SECTIONS:
        out.extend(extract(text, title))
    return out


def blocks(commands):
    """COMMANDS (of one section) grouped by the README block they are in:
    a block ends where the next command does not start on the line after
    the last line of the one before."""
    out = []
    for c in commands:
        if out and c.line == out[-1][-1].line + len(out[-1][-1].lines):
            out[-1].append(c)
        else:
            out.append([c])
    return out


def main(argv):
    path = argv[1] if len(argv) > 1 else "README"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        cmds = extract_all(text)
    except ReadmeError as e:
        print(e, file=sys.stderr)
        return 1
    try:
        cmds += [c for t in LATER for c in extract(text, t)]
    except ReadmeError as e:
        print(e, file=sys.stderr)
        return 1
    for c in cmds:
        print("# %s line %d [%s, %s]" % (c.section or "top", c.line, c.variant, c.way))
        print(c.text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
