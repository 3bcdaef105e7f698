#!/usr/bin/env python3
"""fuzz-run.py - run one libFuzzer target for a while (the 'fuzz-run'
test suite, -Dfuzz=true).

    fuzz-run.py BINARY SECONDS WORKDIR DICT|- INPUTDIR...

WORKDIR is made afresh in the build dir: corpus/ gets a copy of every file
under the INPUTDIRs (tests/data/fuzz/TARGET: its corpus and its crash
inputs), and the fuzzer runs from there, so the source tree is never
written to; the target's scratch files ($TMPDIR) go to WORKDIR/tmp/, so
that even a crash, which skips their removal, leaves nothing elsewhere. What it finds that is new stays in WORKDIR/corpus/; a crash
input goes to WORKDIR/ (-artifact_prefix) and fails the test: copy it to
tests/data/fuzz/TARGET/crashes/ once the bug is fixed. The figures
(executions, exec/s, cov, ft) are printed for the test log.
"""
import os
import re
import shutil
import subprocess
import sys


def copy_inputs(dirs, dest):
    n = 0
    for top in dirs:
        for root, _, files in os.walk(top):
            rel = os.path.relpath(root, top).replace(os.sep, '-')
            for f in sorted(files):
                name = f if rel == '.' else rel + '-' + f
                shutil.copyfile(os.path.join(root, f), os.path.join(dest, name))
                n += 1
    return n


def main():
    binary, seconds, work, dictionary = sys.argv[1:5]
    inputs = sys.argv[5:]
    shutil.rmtree(work, ignore_errors=True)
    corpus = os.path.join(work, 'corpus')
    os.makedirs(corpus)
    tmp = os.path.join(work, 'tmp')
    os.makedirs(tmp)
    n = copy_inputs(inputs, corpus)
    cmd = [binary, '-max_total_time=' + seconds, '-print_final_stats=1',
           '-timeout=30', '-artifact_prefix=' + work + os.sep]
    if dictionary != '-':
        cmd.append('-dict=' + dictionary)
    cmd.append(corpus)
    print('# %d input files; %s' % (n, ' '.join(cmd)), flush=True)
    env = dict(os.environ, TMPDIR=tmp)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors='replace', check=False, env=env)
    out = p.stdout
    lines = out.splitlines()
    # the log keeps the start, the end and every line that is no routine
    # progress report
    routine = re.compile(r'^#\d+\s+(NEW|REDUCE|pulse)\s')
    for i, line in enumerate(lines):
        if i < 30 or i >= len(lines) - 40 or not routine.match(line):
            print(line)
    stats = dict(re.findall(r'^stat::(\w+):\s+(\d+)', out, re.M))
    done = re.findall(r'^Done (\d+) runs in (\d+) second', out, re.M)
    runs, secs = done[-1] if done else (
        stats.get('number_of_executed_units', '?'), '?')
    cov = re.findall(r'\bcov: (\d+)', out)
    ft = re.findall(r'\bft: (\d+)', out)
    print('fuzz-run %s: %s executions in %s s, %s exec/s, cov %s, ft %s, '
          'corpus %s -> %d files, exit %d' % (
              os.path.basename(binary),
              runs, secs, stats.get('average_exec_per_sec', '?'),
              cov[-1] if cov else '?', ft[-1] if ft else '?', n,
              len(os.listdir(corpus)), p.returncode))
    crashes = [f for f in os.listdir(work)
               if f.startswith(('crash-', 'leak-', 'timeout-', 'oom-'))]
    for f in crashes:
        print('finding: ' + os.path.join(work, f))
    return 1 if p.returncode != 0 or crashes else 0


if __name__ == '__main__':
    sys.exit(main())
