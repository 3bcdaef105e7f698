/* proc.h - running a helper program (sendmail, postmap, postconf) with an
 * argv, never a shell, and capturing what it prints; and the delivery
 * agent's signals, which must never let a child that reads a message see
 * a clean end of its input unless the whole message was written.
 */
#ifndef SOARLIST_PROC_H
#define SOARLIST_PROC_H

#include <glib.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>

#define PROC_ERROR (g_quark_from_static_string("soarlist-proc"))

/* PROC_ERROR codes are otherwise the child's exit status, 127 for a failed
 * exec, 0 for a signal or an errno value; these never clash with them. */
enum {
	PROC_ERROR_TIMEOUT = -2,     /* killed when its time limit ran out */
	PROC_ERROR_INTERRUPTED = -3, /* killed: we caught a signal */
	PROC_ERROR_ABORTED = -4,     /* killed by proc_kill() */
};

/* A started child. PID stays valid (for kill(2)) until proc_finish() or
 * proc_kill() reaps it. The other fields are proc.c's. */
struct proc {
	char *prog; /* argv[0], for messages */
	pid_t pid;
	int in;  /* the write end of its stdin, or -1 */
	int out; /* a memory file holding its stdout and stderr */
	guint timeout;
	gboolean guarded; /* with stdin or a time limit: the handlers' */
	gboolean timed;
	timer_t timer;
	sigset_t mask;              /* the caller's, restored once reaped */
	struct sigaction old_alarm; /* the caller's SIGALRM action */
};

/* Start ARGV (ARGV[0] an absolute path) with its stdout and stderr going
 * to a memory file (never blocking it, whatever it prints) and its stdin
 * from /dev/null, or, with WITH_STDIN, from a pipe whose write end is
 * P->in. With WITH_STDIN, SIGPIPE is ignored in this process unless it
 * has a handler (proc_signals_init()'s ignores our own writes), so that
 * a child that stops reading shows as a write error (EPIPE), never kills
 * us; and the child is killed with SIGKILL if this process dies first
 * (PR_SET_PDEATHSIG: its input must never end cleanly by our death).
 * TIMEOUT seconds (0: none) bound the child's run from now until it is
 * reaped: it is then killed with SIGKILL, from a SIGALRM handler (a
 * POSIX timer on CLOCK_MONOTONIC), so that a blocked write to it fails
 * and the wait ends. One child at a time may have stdin or a timeout.
 * Every descriptor of ours is close-on-exec; the child starts with its
 * signals at their defaults and none blocked. Returns 0, or -1 with
 * *error ("cannot execute PROG: REASON" when the exec itself failed). */
int proc_start(struct proc *p, char *const argv[], gboolean with_stdin,
	       guint timeout, GError **error);

/* Close P->in if still open (the child's clean end of input), wait for
 * the child and release P. Returns 0 when it exited 0, else -1 with
 * *error (PROC_ERROR, code the exit status, 0 for a signal) naming the
 * program, its status and the first line it printed, made printable.
 * When a signal of proc_signals_init() was caught or the time limit ran
 * out before P->in was closed, the child is killed instead, as by
 * proc_kill() (code PROC_ERROR_INTERRUPTED or PROC_ERROR_TIMEOUT); a
 * time limit running out afterwards also kills it (PROC_ERROR_TIMEOUT).
 * OUTPUT_R (may be NULL) receives what it printed (at most 1 MB), newly
 * allocated, also on failure. */
int proc_finish(struct proc *p, char **output_r, GError **error);

/* The abort path, for a copy to the child that failed half-way: kill the
 * child with SIGKILL while P->in is still open, so that it never sees a
 * clean end of input, then reap it, close P->in and release P. Returns
 * -1 with *error: the signal caught (PROC_ERROR_INTERRUPTED), the time
 * limit (PROC_ERROR_TIMEOUT), or else the child's own status when it had
 * ended by itself, or "PROG killed before the end of its input"
 * (PROC_ERROR_ABORTED). OUTPUT_R as for proc_finish(). */
int proc_kill(struct proc *p, char **output_r, GError **error);

/* proc_start() without stdin or time limit, then proc_finish(). */
int proc_run(char *const argv[], char **output_r, GError **error);

/* proc_run() for a child that may print more than proc_finish() keeps
 * (postqueue -j of a long queue): *FD_R receives a descriptor of all it
 * printed, at offset 0, for the caller to read and close (-1 on
 * failure). */
int proc_run_fd(char *const argv[], int *fd_r, GError **error);

/* The delivery agent's signals: SIGTERM, SIGINT, SIGHUP and SIGPIPE get a
 * handler that only calls async-signal-safe functions. While a child
 * started with stdin runs, it kills that child with SIGKILL and records
 * the signal (proc_finish() and proc_kill() report it). Otherwise,
 * unless blocked by proc_signals_hold(), it writes one line for the MTA
 * ("4.3.0 ...") to stderr and ends the process with _exit(EX_TEMPFAIL):
 * before the delivery acts, nothing is recorded. A SIGPIPE that our own
 * write to a closed pipe raised is ignored (the write fails with EPIPE).
 * Call once, first thing in main(). */
void proc_signals_init(void);

/* From here on until exit, the signals of proc_signals_init() stay
 * blocked except while a child started with stdin is being written to
 * (proc_start() until proc_finish() closes its stdin, or proc_kill()): a
 * delivery that acts (records, holds, hands over) is never cut short
 * into a 75 that would repeat it. Does nothing without
 * proc_signals_init(). */
void proc_signals_hold(void);

/* The signal that interrupted a child since proc_signals_init(), or 0. */
int proc_signals_caught(void);

#endif
