/* proc.c - run a helper program and capture its output: the one
 * fork/exec/wait of soarlist (sendmail.c, postfix-maps.c, doctor.c).
 *
 * The output goes to a memory file rather than a pipe, so a chatty child
 * can never block on a full pipe while we wait for it or write to it. A
 * failed exec is reported through a close-on-exec pipe, so the caller
 * learns its errno instead of guessing from an exit status.
 *
 * A child that reads a message (sendmail) must never see a clean end of
 * input before the whole message was written: Postfix's sendmail queues
 * whatever it read when its stdin ends. So every way out other than
 * success kills it with SIGKILL while its stdin is still open: a failed
 * copy (proc_kill), its time limit (a POSIX timer whose SIGALRM handler
 * kills it), a signal to us (proc_signals_init's handler kills it), and
 * our own death (PR_SET_PDEATHSIG in the child; the kernel closes our
 * descriptors a moment before it sends that signal: normally far less
 * time than Postfix's sendmail needs to commit a queue file). The
 * handlers share the child's pid through one sig_atomic_t, set while
 * every signal concerned is blocked and cleared only once the child is
 * reaped, so they never kill a pid that could have been reused.
 */
#include "soarlist/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist/printable.h"

#define PROC_OUTPUT_MAX (1024 * 1024)
#define PROC_LINE_MAX 200

/* For the handlers: the pid of the child with stdin or a time limit (0
 * when none), the agent's signal once caught (sticky: nothing is handed
 * over after it), and whether the time limit killed the child. */
static volatile sig_atomic_t guarded_pid;
static volatile sig_atomic_t caught;
static volatile sig_atomic_t timed_out;
static gboolean agent; /* proc_signals_init() was called */

static const int agent_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE };

static void
signal_set(sigset_t *set, gboolean with_alarm)
{
	sigemptyset(set);
	for (gsize i = 0; i < G_N_ELEMENTS(agent_signals); i++)
		sigaddset(set, agent_signals[i]);
	if (with_alarm)
		sigaddset(set, SIGALRM);
}

/* Only string literals: called from a handler. */
static const char *
signal_name(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	case SIGPIPE:
		return "SIGPIPE";
	default:
		return "a signal";
	}
}

/* SIGALRM from the child's timer: its time limit ran out. */
static void
on_alarm(int sig)
{
	int saved = errno;
	pid_t pid = guarded_pid;

	(void)sig;
	if (pid > 0) {
		timed_out = 1;
		kill(pid, SIGKILL);
	}
	errno = saved;
}

/* SIGTERM, SIGINT, SIGHUP, SIGPIPE in the delivery agent. Only
 * async-signal-safe calls. */
static void
on_signal(int sig, siginfo_t *si, void *ctx)
{
	static const char head[] = "4.3.0 soarlist-deliver: interrupted by ",
			  tail[] = " before delivery; the message stays "
				   "queued\n";
	const char *name = signal_name(sig);
	int saved = errno;
	pid_t pid = guarded_pid;

	(void)ctx;
	/* raised by a write of ours to a closed pipe, which fails with
	 * EPIPE: the writer deals with that */
	if (sig == SIGPIPE && si != NULL && si->si_code == SI_USER &&
	    si->si_pid == getpid())
		return;
	if (pid > 0) {
		if (caught == 0)
			caught = sig;
		kill(pid, SIGKILL);
		errno = saved;
		return;
	}
	/* not held yet (proc_signals_hold): nothing is recorded */
	if (write(STDERR_FILENO, head, sizeof(head) - 1) < 0 ||
	    write(STDERR_FILENO, name, strlen(name)) < 0 ||
	    write(STDERR_FILENO, tail, sizeof(tail) - 1) < 0)
		_exit(EX_TEMPFAIL);
	_exit(EX_TEMPFAIL);
}

void
proc_signals_init(void)
{
	struct sigaction act = { .sa_sigaction = on_signal,
				 .sa_flags = SA_SIGINFO | SA_RESTART };

	signal_set(&act.sa_mask, TRUE);
	for (gsize i = 0; i < G_N_ELEMENTS(agent_signals); i++)
		sigaction(agent_signals[i], &act, NULL);
	agent = TRUE;
}

void
proc_signals_hold(void)
{
	sigset_t set;

	if (!agent)
		return;
	signal_set(&set, FALSE);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int
proc_signals_caught(void)
{
	return caught;
}

#define PROC_OUTPUT_MAX (1024 * 1024)
#define PROC_LINE_MAX 200

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static char *
read_output(int fd)
{
	struct stat st;
	gsize len;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return g_strdup("");
	len = (gsize)MIN(st.st_size, PROC_OUTPUT_MAX);
	/* only for messages, and read after sendmail succeeded, before the
	 * post is recorded as sent: no memory must not abort there */
	if ((buf = g_try_malloc(len + 1)) == NULL)
		return g_strdup("");
	n = pread(fd, buf, len, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* The first line of TEXT, at most PROC_LINE_MAX bytes, made printable. */
static char *
first_line(const char *text)
{
	gsize len = MIN(strcspn(text, "\n"), PROC_LINE_MAX);

	return printable_take(g_strndup(text, len));
}

static void
set_status_error(GError **error, const char *prog, int status, const char *out)
{
	g_autofree char *line = first_line(out);
	const char *sep = *line ? ": " : "";

	if (WIFEXITED(status))
		g_set_error(error, PROC_ERROR, WEXITSTATUS(status),
			    "%s exited with status %d%s%s", prog,
			    WEXITSTATUS(status), sep, line);
	else
		g_set_error(error, PROC_ERROR, 0,
			    "%s was killed by signal %d%s%s", prog,
			    WIFSIGNALED(status) ? WTERMSIG(status) : -1, sep,
			    line);
}

static int
reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* In the child: only async-signal-safe calls. Never returns. With
 * PARENT (a child that reads a message), our death kills it: checked
 * against the race of our dying before the prctl. */
static void G_GNUC_NORETURN
child(char *const argv[], int in, int out, int report, pid_t parent)
{
	static const int reset[] = { SIGPIPE, SIGTERM, SIGINT, SIGHUP,
				     SIGALRM };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int err;

	for (gsize i = 0; i < G_N_ELEMENTS(reset); i++)
		sigaction(reset[i], &dfl, NULL);
	if (parent > 0 && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		goto fail;
	if (parent > 0 && getppid() != parent)
		_exit(EX_TEMPFAIL); /* nobody is left to read our status */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(out, STDERR_FILENO) < 0)
		_exit(EX_OSERR);
	execv(argv[0], argv);
fail:
	err = errno;
	if (write(report, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/* Start the child's time limit: SIGALRM from a timer on CLOCK_MONOTONIC
 * (immune to clock changes), its handler killing the child. */
static int
arm_timer(struct proc *p)
{
	struct sigaction act = { .sa_handler = on_alarm,
				 .sa_flags = SA_RESTART };
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL,
			       .sigev_signo = SIGALRM };
	struct itimerspec when = { .it_value = { .tv_sec = p->timeout } };
	int err;

	signal_set(&act.sa_mask, TRUE);
	if (timer_create(CLOCK_MONOTONIC, &ev, &p->timer) < 0)
		return -1;
	if (sigaction(SIGALRM, &act, &p->old_alarm) < 0) {
		err = errno;
		timer_delete(p->timer);
		errno = err;
		return -1;
	}
	p->timed = TRUE;
	if (timer_settime(p->timer, 0, &when, NULL) < 0)
		return -1;
	return 0;
}

/* With every signal concerned blocked: reap the child, forget it, stop
 * its timer and give the caller back its signal mask. Returns 0, or -1
 * with errno from waitpid. */
static int
settle(struct proc *p, int *status)
{
	int rc = reap(p->pid, status), err = errno;

	if (p->guarded)
		guarded_pid = 0;
	p->guarded = FALSE;
	if (p->timed) {
		timer_delete(p->timer);
		sigaction(SIGALRM, &p->old_alarm, NULL);
		p->timed = FALSE;
	}
	sigprocmask(SIG_SETMASK, &p->mask, NULL);
	errno = err;
	return rc;
}

/* While the child reads its input: the caller's mask, with the agent's
 * signals open (their handler kills the child) and SIGALRM for the
 * timer. */
static void
open_window(const struct proc *p, gboolean with_stdin)
{
	sigset_t mask = p->mask;

	if (agent && with_stdin)
		for (gsize i = 0; i < G_N_ELEMENTS(agent_signals); i++)
			sigdelset(&mask, agent_signals[i]);
	if (p->timed)
		sigdelset(&mask, SIGALRM);
	sigprocmask(SIG_SETMASK, &mask, NULL);
}

static void
block_all(void)
{
	sigset_t all;

	signal_set(&all, TRUE);
	sigprocmask(SIG_BLOCK, &all, NULL);
}

/* The pipe for the child's stdin, or /dev/null. A SIGPIPE left at its
 * default would kill us when the child stops reading: ignore it, unless
 * proc_signals_init() gave it a handler (which ignores ours). */
static int
open_stdin(int in[2], gboolean with_stdin)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, cur;

	if (!with_stdin) {
		in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return in[0] < 0 ? -1 : 0;
	}
	if (sigaction(SIGPIPE, NULL, &cur) == 0 &&
	    !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL)
		sigaction(SIGPIPE, &ign, NULL);
	return pipe2(in, O_CLOEXEC);
}

int
proc_start(struct proc *p, char *const argv[], gboolean with_stdin,
	   guint timeout, GError **error)
{
	int in[2] = { -1, -1 }, report[2] = { -1, -1 };
	int err = 0, status;
	pid_t self = getpid();
	sigset_t all;
	ssize_t n;

	*p = (struct proc){ .pid = -1, .in = -1, .out = -1 };
	p->timeout = timeout;
	p->guarded = with_stdin || timeout > 0;
	if (p->guarded && caught != 0) {
		g_set_error(error, PROC_ERROR, PROC_ERROR_INTERRUPTED,
			    "interrupted by %s: %s not started",
			    signal_name(caught), argv[0]);
		return -1;
	}
	if (p->guarded && guarded_pid != 0) {
		g_set_error(error, PROC_ERROR, EBUSY,
			    "cannot run %s: another child is running", argv[0]);
		return -1;
	}
	p->out = memfd_create("proc-output", MFD_CLOEXEC);
	if (p->out < 0 || open_stdin(in, with_stdin) < 0 ||
	    pipe2(report, O_CLOEXEC) < 0)
		goto fail;
	/* neither the handlers nor the timer before the pid is recorded */
	signal_set(&all, TRUE);
	sigprocmask(SIG_BLOCK, &all, &p->mask);
	if ((p->pid = fork()) < 0) {
		sigprocmask(SIG_SETMASK, &p->mask, NULL);
		goto fail;
	}
	if (p->pid == 0)
		child(argv, in[0], p->out, report[1], with_stdin ? self : 0);
	if (p->guarded) {
		guarded_pid = p->pid;
		timed_out = 0;
	}
	close_fd(&in[0]);
	close_fd(&report[1]);
	if (timeout > 0 && arm_timer(p) < 0) {
		err = errno;
		kill(p->pid, SIGKILL);
		settle(p, &status);
		errno = err;
		goto fail;
	}
	open_window(p, with_stdin);
	/* EOF: the exec worked; an int: it did not */
	while ((n = read(report[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close_fd(&report[0]);
	if (n == sizeof(err)) {
		block_all();
		settle(p, &status);
		g_set_error(error, PROC_ERROR, 127, "cannot execute %s: %s",
			    argv[0], g_strerror(err));
		close_fd(&in[1]);
		close_fd(&p->out);
		p->pid = -1;
		return -1;
	}
	p->prog = g_strdup(argv[0]);
	p->in = in[1];
	return 0;

fail:
	err = errno;
	g_set_error(error, PROC_ERROR, err, "cannot run %s: %s", argv[0],
		    g_strerror(err));
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&report[0]);
	close_fd(&report[1]);
	close_fd(&p->out);
	p->pid = -1;
	return -1;
}

/* The error of a child killed by proc_kill(), or by a handler. */
static void
set_kill_error(GError **error, const struct proc *p, gboolean guarded,
	       int status, const char *out)
{
	if (guarded && caught != 0)
		g_set_error(error, PROC_ERROR, PROC_ERROR_INTERRUPTED,
			    "interrupted by %s: %s killed before the end of "
			    "its input",
			    signal_name(caught), p->prog);
	else if (guarded && timed_out && p->timeout > 0)
		g_set_error(error, PROC_ERROR, PROC_ERROR_TIMEOUT,
			    "%s did not finish within %u s: killed", p->prog,
			    p->timeout);
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		g_set_error(error, PROC_ERROR, PROC_ERROR_ABORTED,
			    "%s killed before the end of its input", p->prog);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		g_set_error(error, PROC_ERROR, PROC_ERROR_ABORTED,
			    "%s exited with status 0 before the end of its "
			    "input",
			    p->prog);
	else
		set_status_error(error, p->prog, status, out);
}

/* Release P once reaped: its output, its name. */
static int
done(struct proc *p, int rc, char *text, char **output_r)
{
	close_fd(&p->in);
	close_fd(&p->out);
	p->pid = -1;
	g_clear_pointer(&p->prog, g_free);
	if (output_r != NULL)
		*output_r = text;
	else
		g_free(text);
	return rc;
}

int
proc_kill(struct proc *p, char **output_r, GError **error)
{
	gboolean guarded = p->guarded;
	int status = 0;
	char *text;

	block_all();
	/* stdin still open: whatever it read, it never saw its end */
	kill(p->pid, SIGKILL);
	if (settle(p, &status) < 0) {
		g_set_error(error, PROC_ERROR, errno, "waitpid for %s: %s",
			    p->prog, g_strerror(errno));
		return done(p, -1, g_strdup(""), output_r);
	}
	text = read_output(p->out);
	set_kill_error(error, p, guarded, status, text);
	return done(p, -1, text, output_r);
}

/* Wait for the child to end without reaping it (its pid stays ours for
 * the timer's handler), SIGALRM alone open. */
static int
await(const struct proc *p)
{
	sigset_t alarm;
	siginfo_t info;
	int rc;

	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	if (p->timed)
		sigprocmask(SIG_UNBLOCK, &alarm, NULL);
	while ((rc = waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOWAIT)) <
		       0 &&
	       errno == EINTR)
		;
	if (p->timed)
		sigprocmask(SIG_BLOCK, &alarm, NULL);
	return rc;
}

int
proc_finish(struct proc *p, char **output_r, GError **error)
{
	gboolean guarded = p->guarded;
	int status = 0, rc, err = 0;
	char *text;

	block_all();
	/* a handler killed it while we wrote: never close its stdin first */
	if (guarded && (caught != 0 || (p->timed && timed_out)))
		return proc_kill(p, output_r, error);
	close_fd(&p->in);
	if ((rc = await(p)) < 0) {
		err = errno;
		kill(p->pid, SIGKILL);
	}
	if (settle(p, &status) < 0 && rc == 0) {
		err = errno;
		rc = -1;
	}
	if (rc < 0) {
		g_set_error(error, PROC_ERROR, err, "waitpid for %s: %s",
			    p->prog, g_strerror(err));
		return done(p, -1, read_output(p->out), output_r);
	}
	text = read_output(p->out);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return done(p, 0, text, output_r);
	if (guarded && timed_out && p->timeout > 0)
		g_set_error(error, PROC_ERROR, PROC_ERROR_TIMEOUT,
			    "%s did not finish within %u s: killed", p->prog,
			    p->timeout);
	else
		set_status_error(error, p->prog, status, text);
	return done(p, -1, text, output_r);
}

int
proc_run(char *const argv[], char **output_r, GError **error)
{
	struct proc p;

	if (proc_start(&p, argv, FALSE, 0, error) < 0) {
		if (output_r != NULL)
			*output_r = g_strdup("");
		return -1;
	}
	return proc_finish(&p, output_r, error);
}

int
proc_run_fd(char *const argv[], int *fd_r, GError **error)
{
	struct proc p;
	int fd, saved;

	*fd_r = -1;
	if (proc_start(&p, argv, FALSE, 0, error) < 0)
		return -1;
	fd = fcntl(p.out, F_DUPFD_CLOEXEC, 0);
	saved = errno;
	if (proc_finish(&p, NULL, error) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd < 0) {
		g_set_error(error, PROC_ERROR, saved, "%s", g_strerror(saved));
		return -1;
	}
	lseek(fd, 0, SEEK_SET);
	*fd_r = fd;
	return 0;
}
