/* test-proc.c - proc_start, proc_finish, proc_kill, proc_run: the one
 * fork/exec/wait (sendmail, postmap, postconf): output captured and
 * bounded, status and signal in the error, a failed exec named, stdin
 * streamed, a child that stops reading seen as EPIPE, nothing of ours
 * leaked into the child; and a child that reads a message never seeing a
 * clean end of input unless all of it was written: not on a failed copy
 * (proc_kill, sendmail_send_timed with a spool that fails), not on its
 * time limit, not on a signal to us, not on our death. */
#include "soarlist/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <gmime/gmime.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist/message.h"
#include "soarlist/sendmail.h"

#include "unit.h"

static int
run_sh(const char *script, char **out, GError **error)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };

	return proc_run(argv, out, error);
}

static void
test_output(void)
{
	g_autofree char *out = NULL;
	GError *err = NULL;

	check_int(run_sh("echo out; echo err >&2", &out, &err), 0, "rc");
	g_assert_no_error(err);
	check_str(out, "out\nerr\n", "stdout and stderr, in order");
}

static void
test_status(void)
{
	g_autofree char *out = NULL;
	GError *err = NULL;

	check_int(run_sh("printf 'bad\\033[31m thing\\nline 2\\n'; exit 3",
			 &out, &err),
		  -1, "rc");
	g_assert_nonnull(err);
	check_int(err->code, 3, "code");
	check_str(err->message,
		  "/bin/sh exited with status 3: bad\\x1b[31m thing",
		  "message: the first line, made printable");
	check_str(out, "bad\033[31m thing\nline 2\n", "output on failure");
	g_clear_error(&err);
}

static void
test_long_line(void)
{
	GError *err = NULL;

	run_sh("head -c 5000 /dev/zero | tr '\\0' x; exit 1", NULL, &err);
	g_assert_nonnull(err);
	check_int((gint64)strlen(err->message),
		  (gint64)strlen("/bin/sh exited with status 1: ") + 200,
		  "the first line quoted is bounded");
	g_clear_error(&err);
}

static void
test_signal(void)
{
	GError *err = NULL;

	run_sh("echo dying; kill -9 $$", NULL, &err);
	g_assert_nonnull(err);
	check_str(err->message, "/bin/sh was killed by signal 9: dying",
		  "message");
	g_clear_error(&err);
}

static void
test_missing(void)
{
	char *argv[] = { "/nonexistent/sendmail", NULL };
	g_autofree char *out = NULL;
	GError *err = NULL;

	check_int(proc_run(argv, &out, &err), -1, "rc");
	g_assert_nonnull(err);
	check_int(err->code, 127, "code");
	check_str(err->message,
		  "cannot execute /nonexistent/sendmail: "
		  "No such file or directory",
		  "message");
	check_str(out, "", "output");
	g_clear_error(&err);
}

static void
test_bounded(void)
{
	g_autofree char *out = NULL;
	GError *err = NULL;

	check_int(run_sh("head -c 3000000 /dev/zero | tr '\\0' x", &out, &err),
		  0, "rc");
	g_assert_no_error(err);
	check_int((gint64)strlen(out), 1024 * 1024, "output kept");
}

static void
test_stdin(void)
{
	char *argv[] = { "/usr/bin/wc", "-c", NULL };
	g_autofree char *buf = g_malloc(500000), *out = NULL;
	struct proc p;
	GError *err = NULL;
	gsize done = 0;

	memset(buf, 'a', 500000);
	check_int(proc_start(&p, argv, TRUE, 0, &err), 0, "start");
	g_assert_no_error(err);
	check_int(p.pid > 0, 1, "pid reachable");
	while (done < 500000) {
		ssize_t n = write(p.in, buf + done, 500000 - done);
		g_assert_cmpint(n, >, 0);
		done += (gsize)n;
	}
	check_int(proc_finish(&p, &out, &err), 0, "finish");
	g_assert_no_error(err);
	check_str(out, "500000\n", "what the child read");
	check_int(p.in, -1, "stdin closed");
	check_int(p.out, -1, "output closed");
}

/* The child exits 0 at once: our write fails with EPIPE, and we live. */
static void
test_not_reading(void)
{
	char *argv[] = { "/bin/true", NULL };
	g_autofree char *buf = g_malloc0(1 << 20);
	struct proc p;
	GError *err = NULL;
	ssize_t n = 0;
	int werr = 0;

	check_int(proc_start(&p, argv, TRUE, 0, &err), 0, "start");
	g_assert_no_error(err);
	for (int i = 0; i < 64 && n >= 0; i++)
		if ((n = write(p.in, buf, 1 << 20)) < 0)
			werr = errno;
	check_int(werr, EPIPE, "write error");
	check_int(proc_finish(&p, NULL, &err), 0, "its own status");
	g_assert_no_error(err);
}

static guint64
status_mask(const char *text, const char *field)
{
	const char *p = strstr(text, field);

	g_assert_nonnull(p);
	return g_ascii_strtoull(p + strlen(field), NULL, 16);
}

/* The child starts with SIGPIPE at its default (we ignore it) and no
 * signal blocked, whatever we block. */
static void
test_child_signals(void)
{
	char *argv[] = { "/bin/cat", "/proc/self/status", NULL };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	g_autofree char *out = NULL;
	sigset_t set, was;
	GError *err = NULL;

	sigaction(SIGPIPE, &ign, &old);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &was);
	check_int(proc_run(argv, &out, &err), 0, "rc");
	sigprocmask(SIG_SETMASK, &was, NULL);
	sigaction(SIGPIPE, &old, NULL);
	g_assert_no_error(err);
	check_int(status_mask(out, "\nSigIgn:\t") & (1u << (SIGPIPE - 1)), 0,
		  "SIGPIPE ignored in the child");
	check_int(status_mask(out, "\nSigBlk:\t"), 0, "signals blocked");
}

static guint
count(const char *text, const char *needle)
{
	guint n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* Only the child's 0, 1 and 2 are ours: the memory file, the stdin pipe
 * and the exec report pipe are close-on-exec. */
static void
test_no_leak(void)
{
	char *argv[] = { "/bin/ls", "-l", "/proc/self/fd", NULL };
	g_autofree char *out = NULL;
	struct proc p;
	GError *err = NULL;

	check_int(proc_start(&p, argv, TRUE, 0, &err), 0, "start");
	g_assert_no_error(err);
	check_int(proc_finish(&p, &out, &err), 0, "finish");
	g_assert_no_error(err);
	check_int(count(out, "memfd:proc-output"), 2, "memory file: 1 and 2");
	check_int(count(out, "pipe:"), 1, "pipes: 0 only");
	check_contains(out, " 0 -> pipe:", "stdin");
}

/* A sink that behaves like Postfix's sendmail: it reads to the end of
 * its input, and on a clean end it "accepts" (creates DIR/accepted).
 * Killed before that, it accepts nothing. It reads with shell built-ins,
 * so that no process of its own outlives it holding the pipe; accepting
 * takes a command, as a real sendmail's commit takes time (the kernel
 * closes a dying parent's descriptors a moment before it sends the
 * parent-death signal). */
struct sink {
	char *dir, *accepted, *script;
};

static void
sink_init(struct sink *s)
{
	g_autofree char *text = NULL;

	s->dir = g_dir_make_tmp("test-proc-XXXXXX", NULL);
	g_assert_nonnull(s->dir);
	s->accepted = g_build_filename(s->dir, "accepted", NULL);
	s->script = g_build_filename(s->dir, "sendmail", NULL);
	text = g_strdup_printf("#!/bin/sh\n"
			       "while IFS= read -r line; do :; done\n"
			       "touch '%s'\n",
			       s->accepted);
	g_assert_true(g_file_set_contents(s->script, text, -1, NULL));
	g_assert_cmpint(chmod(s->script, 0755), ==, 0);
}

static void
sink_clear(struct sink *s)
{
	unlink(s->accepted);
	unlink(s->script);
	rmdir(s->dir);
	g_free(s->dir);
	g_free(s->accepted);
	g_free(s->script);
}

static gboolean
sink_accepted(const struct sink *s)
{
	return g_file_test(s->accepted, G_FILE_TEST_EXISTS);
}

static void
write_some(int fd, gsize len)
{
	g_autofree char *buf = g_malloc(len);

	memset(buf, 'x', len);
	g_assert_cmpint(write(fd, buf, len), ==, (ssize_t)len);
}

/* A copy that fails half-way: proc_kill() kills the child before its
 * stdin is closed, so it never accepts what it read. */
static void
test_kill(void)
{
	struct sink s;
	struct proc p;
	GError *err = NULL;

	sink_init(&s);
	char *argv[] = { s.script, NULL };
	check_int(proc_start(&p, argv, TRUE, 0, &err), 0, "start");
	g_assert_no_error(err);
	write_some(p.in, 1000);
	check_int(proc_kill(&p, NULL, &err), -1, "rc");
	g_assert_nonnull(err);
	check_int(err->code, PROC_ERROR_ABORTED, "code");
	check_contains(err->message, "killed before the end of its input",
		       "message");
	check_int(p.in, -1, "stdin closed");
	check_int(p.pid, -1, "reaped");
	check_int(sink_accepted(&s), FALSE, "the sink accepted");
	g_clear_error(&err);
	sink_clear(&s);
}

/* The time limit: a child that reads nothing and never ends is killed,
 * both while we wait for it and while a write to it blocks. */
static void
test_timeout(void)
{
	char *argv[] = { "/bin/sleep", "60", NULL };
	g_autofree char *out = NULL;
	struct proc p;
	GError *err = NULL;
	ssize_t n = 0;
	int werr = 0;

	check_int(proc_start(&p, argv, TRUE, 1, &err), 0, "start");
	g_assert_no_error(err);
	check_int(proc_finish(&p, &out, &err), -1, "waiting: rc");
	g_assert_nonnull(err);
	check_int(err->code, PROC_ERROR_TIMEOUT, "waiting: code");
	check_str(err->message, "/bin/sleep did not finish within 1 s: killed",
		  "waiting: message");
	g_clear_error(&err);

	check_int(proc_start(&p, argv, TRUE, 1, &err), 0, "start again");
	g_assert_no_error(err);
	{
		g_autofree char *buf = g_malloc0(1 << 20);

		/* the pipe fills up, the write blocks until the kill */
		for (int i = 0; i < 64 && n >= 0; i++)
			if ((n = write(p.in, buf, 1 << 20)) < 0)
				werr = errno;
	}
	check_int(werr, EPIPE, "writing: the write error");
	check_int(proc_kill(&p, NULL, &err), -1, "writing: rc");
	g_assert_nonnull(err);
	check_int(err->code, PROC_ERROR_TIMEOUT, "writing: code");
	g_clear_error(&err);

	/* no time limit left behind: SIGALRM back at its default */
	{
		struct sigaction cur;

		sigaction(SIGALRM, NULL, &cur);
		check_int(cur.sa_handler == SIG_DFL, 1, "SIGALRM's action");
	}
}

/* A child that ends in time is not disturbed by its limit. */
static void
test_timeout_unused(void)
{
	char *argv[] = { "/usr/bin/wc", "-c", NULL };
	g_autofree char *out = NULL;
	struct proc p;
	GError *err = NULL;

	check_int(proc_start(&p, argv, TRUE, 30, &err), 0, "start");
	write_some(p.in, 5000);
	check_int(proc_finish(&p, &out, &err), 0, "finish");
	g_assert_no_error(err);
	check_str(out, "5000\n", "what it read");
}

/* Status of a forked test process: exit code or 1000 + signal. */
static int
wait_status(pid_t pid)
{
	int status;

	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	return WIFEXITED(status) ? WEXITSTATUS(status)
				 : 1000 + WTERMSIG(status);
}

/* In a forked process (the handlers are the process's): the agent's
 * signal while the sink reads kills the sink, and the copy fails with
 * PROC_ERROR_INTERRUPTED, either on the next write (proc_kill) or in
 * proc_finish, which never closes the sink's stdin first. Exit codes:
 * 0 right, others name the check that failed. */
static int
interrupted_child(const struct sink *s, gboolean more_writes)
{
	char *argv[] = { s->script, NULL };
	struct proc p;
	GError *err = NULL;
	int rc;

	proc_signals_init();
	proc_signals_hold();
	if (proc_start(&p, argv, TRUE, 0, &err) < 0)
		return 2;
	write_some(p.in, 1000);
	kill(getpid(), SIGTERM); /* open: the handler runs now */
	if (more_writes) {
		char buf[4096] = { 0 };
		ssize_t n;

		while ((n = write(p.in, buf, sizeof(buf))) > 0)
			;
		if (n >= 0 || errno != EPIPE)
			return 3;
		rc = proc_kill(&p, NULL, &err);
	} else {
		rc = proc_finish(&p, NULL, &err);
	}
	if (rc != -1 || err->code != PROC_ERROR_INTERRUPTED ||
	    strstr(err->message, "interrupted by SIGTERM: ") == NULL)
		return 4;
	g_clear_error(&err);
	if (proc_signals_caught() != SIGTERM)
		return 5;
	/* nothing is handed over after a signal */
	if (proc_start(&p, argv, TRUE, 0, &err) != -1 ||
	    err->code != PROC_ERROR_INTERRUPTED)
		return 6;
	g_clear_error(&err);
	/* held: a signal now waits for our exit */
	kill(getpid(), SIGHUP);
	return 0;
}

static void
test_interrupted(void)
{
	for (int more = 0; more < 2; more++) {
		struct sink s;
		pid_t pid;

		sink_init(&s);
		if ((pid = fork()) == 0)
			_exit(interrupted_child(&s, more));
		check_int(wait_status(pid), 0, "the process (more writes: %d)",
			  more);
		check_int(sink_accepted(&s), FALSE,
			  "the sink accepted (more writes: %d)", more);
		sink_clear(&s);
	}
}

/* Before proc_signals_hold(), a signal ends the process with 75 and one
 * line for the MTA. */
static void
test_early_signal(void)
{
	int fds[2];
	char line[200] = "";
	pid_t pid;

	g_assert_cmpint(pipe(fds), ==, 0);
	if ((pid = fork()) == 0) {
		dup2(fds[1], STDERR_FILENO);
		proc_signals_init();
		kill(getpid(), SIGINT);
		_exit(0);
	}
	close(fds[1]);
	check_int(wait_status(pid), EX_TEMPFAIL, "status");
	g_assert_cmpint(read(fds[0], line, sizeof(line) - 1), >, 0);
	close(fds[0]);
	check_str(line,
		  "4.3.0 soarlist-deliver: interrupted by SIGINT before "
		  "delivery; the message stays queued\n",
		  "the line for the MTA");
}

/* Our own write to a closed pipe raises SIGPIPE: the handler leaves it to
 * the write (EPIPE), even before proc_signals_hold(). */
static void
test_own_sigpipe(void)
{
	pid_t pid;

	if ((pid = fork()) == 0) {
		int fds[2];

		proc_signals_init();
		if (pipe(fds) < 0)
			_exit(2);
		close(fds[0]);
		if (write(fds[1], "x", 1) != -1 || errno != EPIPE)
			_exit(3);
		_exit(0);
	}
	check_int(wait_status(pid), 0, "status");
}

/* PID has ended: no such process, or a zombie. */
static gboolean
gone(pid_t pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
	g_autofree char *text = NULL;
	const char *paren;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return TRUE;
	paren = strrchr(text, ')');
	return paren != NULL && paren[1] == ' ' && paren[2] == 'Z';
}

/* Our death by SIGKILL kills the sink too (PR_SET_PDEATHSIG): it never
 * sees the clean end of input our death would otherwise give it. */
static void
test_parent_death(void)
{
	struct sink s;
	int fds[2];
	pid_t pid, sink_pid = 0;
	struct pollfd pfd;

	sink_init(&s);
	g_assert_cmpint(pipe(fds), ==, 0);
	if ((pid = fork()) == 0) {
		char *argv[] = { s.script, NULL };
		struct proc p;

		close(fds[0]);
		if (proc_start(&p, argv, TRUE, 0, NULL) < 0)
			_exit(2);
		write_some(p.in, 1000);
		if (write(fds[1], &p.pid, sizeof(p.pid)) < 0)
			_exit(3);
		pause();
		_exit(4);
	}
	close(fds[1]);
	g_assert_cmpint(read(fds[0], &sink_pid, sizeof(sink_pid)), ==,
			sizeof(sink_pid));
	close(fds[0]);
	/* the sink's end, as an event: a pidfd readable once it is gone */
	pfd.fd = (int)syscall(SYS_pidfd_open, sink_pid, 0);
	pfd.events = POLLIN;
	kill(pid, SIGKILL);
	check_int(wait_status(pid), 1000 + SIGKILL, "the process");
	if (pfd.fd >= 0) {
		g_assert_cmpint(poll(&pfd, 1, -1), ==, 1);
		close(pfd.fd);
	} else { /* no pidfd_open (valgrind): look until it is gone */
		for (int i = 0; i < 6000 && !gone(sink_pid); i++)
			g_usleep(10000);
	}
	check_int(gone(sink_pid), TRUE, "the sink is gone");
	check_int(sink_accepted(&s), FALSE, "the sink accepted");
	sink_clear(&s);
}

/* A read error on the spool half-way through the copy (here the spool
 * file is shorter than the message claims: EIO): sendmail is killed, not
 * given a clean end of input, and the error says both. */
static void
test_spool_read_error(void)
{
	static const char text[] = "From: a@example.org\n"
				   "Subject: x\n\nbody line\n";
	g_autofree char *path = NULL;
	g_autoptr(GPtrArray) rcpts = g_ptr_array_new();
	struct message msg = { 0 };
	struct sink s;
	GError *err = NULL;
	int fd;

	sink_init(&s);
	path = g_build_filename(s.dir, "spool", NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	fd = open(path, O_RDONLY);
	g_assert_cmpint(fd, >=, 0);
	check_int(message_parse(fd, sizeof(text) - 1, &msg, &err), 0, "parse");
	g_assert_no_error(err);
	msg.end += 100000; /* the spool "shrank": the copy fails with EIO */
	g_ptr_array_add(rcpts, "b@example.org");
	check_int(sendmail_send_timed(s.script, 30, "a@example.org", FALSE,
				      rcpts, &msg, &err),
		  -1, "rc");
	g_assert_nonnull(err);
	check_contains(err->message,
		       "copying the message to it failed (Input/output "
		       "error); ",
		       "message: the cause");
	check_contains(err->message, "killed before the end of its input",
		       "message: sendmail killed");
	check_int(sink_accepted(&s), FALSE, "the sink accepted");
	g_clear_error(&err);
	message_clear(&msg);
	close(fd);
	unlink(path);
	sink_clear(&s);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_mime_init();
	g_test_add_func("/proc/output", test_output);
	g_test_add_func("/proc/status", test_status);
	g_test_add_func("/proc/long-line", test_long_line);
	g_test_add_func("/proc/signal", test_signal);
	g_test_add_func("/proc/missing", test_missing);
	g_test_add_func("/proc/bounded", test_bounded);
	g_test_add_func("/proc/stdin", test_stdin);
	g_test_add_func("/proc/not-reading", test_not_reading);
	g_test_add_func("/proc/child-signals", test_child_signals);
	g_test_add_func("/proc/no-leak", test_no_leak);
	g_test_add_func("/proc/kill", test_kill);
	g_test_add_func("/proc/timeout", test_timeout);
	g_test_add_func("/proc/timeout-unused", test_timeout_unused);
	g_test_add_func("/proc/interrupted", test_interrupted);
	g_test_add_func("/proc/early-signal", test_early_signal);
	g_test_add_func("/proc/own-sigpipe", test_own_sigpipe);
	g_test_add_func("/proc/parent-death", test_parent_death);
	g_test_add_func("/proc/spool-read-error", test_spool_read_error);
	return g_test_run();
}
