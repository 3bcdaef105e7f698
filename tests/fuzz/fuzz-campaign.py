#!/usr/bin/env python3
"""fuzz-campaign.py - a long fuzzing run over every target, in turns.

    fuzz-campaign.py BUILD WORKDIR [--goal N] [--slot SECONDS] [--jobs J]
                     [--targets a,b,...]
    fuzz-campaign.py --report WORKDIR

BUILD is a build directory configured with -Dfuzz=true (clang). Each target
runs in turn for SLOT seconds (default 480) on J processes (default 2:
-jobs=J -workers=J), from WORKDIR/TARGET/corpus, which starts as a copy of
tests/data/fuzz/TARGET (corpus and crash inputs) and keeps what the fuzzer
adds from turn to turn. Every turn is a line of WORKDIR/ledger (JSON: the
target, seconds, executions, cov, ft, findings, and timeouts that did not
come back when the input was run again). The campaign stops when
the executions summed over the ledger reach GOAL (default 10^8), when a
target finds a crash, leak or timeout (its input is left in WORKDIR/TARGET/
as crash-SHA1 and so on), or when the file WORKDIR/STOP exists; run again,
it goes on from the ledger and the corpora. --report prints the ledger
summed per target.

The ledger counts the executions libFuzzer reports for each job: at its
end ("Done N runs"), in its final stats when it found something, else its
last progress line.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'data', 'fuzz')
TARGETS = ['message', 'dsn', 'api', 'config', 'policy', 'moderation', 'auth']
# slow-unit- is left out: a pause (SIGSTOP while CI runs) makes one; a
# unit that is really slow ends as timeout- (-timeout=30)
FINDINGS = ('crash-', 'leak-', 'timeout-', 'oom-')


def read_ledger(work):
    path = os.path.join(work, 'ledger')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def report(work):
    rows = {}
    for e in read_ledger(work):
        r = rows.setdefault(e['target'], dict(turns=0, seconds=0, execs=0,
                                               cov=0, ft=0, findings=0))
        r['turns'] += 1
        r['seconds'] += e['seconds']
        r['execs'] += e['execs']
        r['cov'] = max(r['cov'], e['cov'])
        r['ft'] = max(r['ft'], e['ft'])
        r['findings'] += len(e['findings'])
    print('%-11s %6s %9s %13s %8s %6s %6s %8s' % (
        'target', 'turns', 'seconds', 'executions', 'exec/s', 'cov', 'ft',
        'findings'))
    total = dict(turns=0, seconds=0, execs=0, findings=0)
    for t in sorted(rows, key=lambda t: -rows[t]['execs']):
        r = rows[t]
        print('%-11s %6d %9d %13d %8d %6d %6d %8d' % (
            t, r['turns'], r['seconds'], r['execs'],
            r['execs'] / max(r['seconds'], 1), r['cov'], r['ft'],
            r['findings']))
        for k in total:
            total[k] += r[k]
    print('%-11s %6d %9d %13d %8s %6s %6s %8d' % (
        'total', total['turns'], total['seconds'], total['execs'], '', '',
        '', total['findings']))
    return total['execs']


def prepare(work, target):
    tdir = os.path.join(work, target)
    corpus = os.path.join(tdir, 'corpus')
    if not os.path.isdir(corpus):
        os.makedirs(corpus)
        src = os.path.join(DATA, target)
        for sub in ('corpus', 'crashes'):
            d = os.path.join(src, sub)
            for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                shutil.copyfile(os.path.join(d, f),
                                os.path.join(corpus, sub + '-' + f))
    return tdir, corpus


def reproduces(binary, path, env):
    """TRUE if the input at PATH makes the target fail again. A timeout
    that does not come back was a pause of the machine (a SIGSTOP while
    CI ran), not a slow input: it is kept, as unconfirmed, and the
    campaign goes on."""
    try:
        p = subprocess.run([binary, '-timeout=30', path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=env, timeout=120)
    except subprocess.TimeoutExpired:
        return True
    return p.returncode != 0


def turn(build, work, target, seconds, jobs):
    tdir, corpus = prepare(work, target)
    logs = os.path.join(tdir, 'logs')
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    binary = os.path.join(build, 'tests', 'fuzz', 'fuzz-' + target)
    cmd = [binary, '-max_total_time=%d' % seconds, '-print_final_stats=1',
           '-timeout=30', '-jobs=%d' % jobs, '-workers=%d' % jobs,
           '-artifact_prefix=' + tdir + os.sep]
    d = os.path.join(HERE, target + '.dict')
    if os.path.exists(d):
        cmd.append('-dict=' + d)
    cmd.append(corpus)
    before = set(os.listdir(tdir))
    start = time.time()
    env = dict(os.environ, TMPDIR=logs)
    subprocess.run(cmd, cwd=logs, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=env, check=False)
    execs = cov = ft = 0
    for f in os.listdir(logs):
        if not f.endswith('.log'):
            continue
        with open(os.path.join(logs, f), errors='replace') as fh:
            out = fh.read()
        # a job that ends normally says "Done N runs"; one that found
        # something prints its stats, and every job its progress (#N)
        counts = (re.findall(r'^Done (\d+) runs', out, re.M)
                  + re.findall(r'^stat::number_of_executed_units: (\d+)', out, re.M)
                  + re.findall(r'^#(\d+)\s', out, re.M))
        execs += max((int(c) for c in counts), default=0)
        c = re.findall(r'\bcov: (\d+)', out)
        t = re.findall(r'\bft: (\d+)', out)
        cov = max(cov, int(c[-1]) if c else 0)
        ft = max(ft, int(t[-1]) if t else 0)
    found = sorted(f for f in set(os.listdir(tdir)) - before
                   if f.startswith(FINDINGS))
    unconfirmed = [f for f in found if f.startswith('timeout-')
                   and not reproduces(binary, os.path.join(tdir, f), env)]
    return dict(target=target, seconds=round(time.time() - start),
                execs=execs, cov=cov, ft=ft,
                findings=[f for f in found if f not in unconfirmed],
                unconfirmed=unconfirmed,
                corpus=len(os.listdir(corpus)), at=time.strftime('%F %T'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build', nargs='?')
    ap.add_argument('work')
    ap.add_argument('--goal', type=float, default=1e8)
    ap.add_argument('--slot', type=int, default=480)
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--targets', default=','.join(TARGETS))
    ap.add_argument('--report', action='store_true')
    a = ap.parse_args()
    if a.report:
        report(a.work)
        return 0
    if a.build is None:
        ap.error('BUILD is needed')
    a.build, a.work = os.path.abspath(a.build), os.path.abspath(a.work)
    os.makedirs(a.work, exist_ok=True)
    targets = a.targets.split(',')
    for t in targets:
        if not os.access(os.path.join(a.build, 'tests', 'fuzz', 'fuzz-' + t),
                         os.X_OK):
            sys.exit('fuzz-campaign: no fuzz-%s in %s/tests/fuzz (build '
                     'with -Dfuzz=true)' % (t, a.build))
    i = len(read_ledger(a.work))
    while True:
        total = sum(e['execs'] for e in read_ledger(a.work))
        if total >= a.goal:
            print('fuzz-campaign: goal reached: %d executions' % total)
            break
        if os.path.exists(os.path.join(a.work, 'STOP')):
            print('fuzz-campaign: stopped (STOP): %d executions' % total)
            break
        e = turn(a.build, a.work, targets[i % len(targets)], a.slot, a.jobs)
        with open(os.path.join(a.work, 'ledger'), 'a') as f:
            f.write(json.dumps(e) + '\n')
        print('%(at)s %(target)s: %(execs)d executions in %(seconds)d s, '
              'cov %(cov)d, ft %(ft)d, corpus %(corpus)d, findings '
              '%(findings)s' % e, flush=True)
        i += 1
        if e['findings']:
            print('fuzz-campaign: %s found %s' % (e['target'],
                                                  ', '.join(e['findings'])))
            report(a.work)
            return 1
    report(a.work)
    return 0


if __name__ == '__main__':
    sys.exit(main())
