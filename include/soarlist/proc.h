/* proc.h - running a helper program (sendmail, postmap, postconf) with an
 * argv, never a shell, and capturing what it prints.
 */
#ifndef SOARLIST_PROC_H
#define SOARLIST_PROC_H

#include <glib.h>
#include <sys/types.h>

#define PROC_ERROR (g_quark_from_static_string("soarlist-proc"))

/* A started child. PID stays valid (for kill(2)) until proc_finish()
 * reaps it. */
struct proc {
	char *prog; /* argv[0], for messages */
	pid_t pid;
	int in;  /* the write end of its stdin, or -1 */
	int out; /* a memory file holding its stdout and stderr */
};

/* Start ARGV (ARGV[0] an absolute path) with its stdout and stderr going
 * to a memory file (never blocking it, whatever it prints) and its stdin
 * from /dev/null, or, with WITH_STDIN, from a pipe whose write end is
 * P->in; SIGPIPE is then ignored in this process, so that a child that
 * stops reading shows as a write error (EPIPE), never kills us. Every
 * descriptor of ours is close-on-exec; the child starts with SIGPIPE at
 * its default and no signal blocked. Returns 0, or -1 with *error
 * ("cannot execute PROG: REASON" when the exec itself failed). */
int proc_start(struct proc *p, char *const argv[], gboolean with_stdin,
	       GError **error);

/* Close P->in if still open, wait for the child and release P. Returns 0
 * when it exited 0, else -1 with *error (PROC_ERROR, code the exit
 * status, 0 for a signal) naming the program, its status and the first
 * line it printed, made printable. OUTPUT_R (may be NULL) receives what
 * it printed (at most 1 MB), newly allocated, also on failure. */
int proc_finish(struct proc *p, char **output_r, GError **error);

/* proc_start() without stdin, then proc_finish(). */
int proc_run(char *const argv[], char **output_r, GError **error);

#endif
