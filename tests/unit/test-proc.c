/* test-proc.c - proc_start, proc_finish, proc_run: the one fork/exec/wait
 * (sendmail, postmap, postconf): output captured and bounded, status and
 * signal in the error, a failed exec named, stdin streamed, a child that
 * stops reading seen as EPIPE, nothing of ours leaked into the child. */
#include "soarlist/proc.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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
	check_int(proc_start(&p, argv, TRUE, &err), 0, "start");
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

	check_int(proc_start(&p, argv, TRUE, &err), 0, "start");
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

	check_int(proc_start(&p, argv, TRUE, &err), 0, "start");
	g_assert_no_error(err);
	check_int(proc_finish(&p, &out, &err), 0, "finish");
	g_assert_no_error(err);
	check_int(count(out, "memfd:proc-output"), 2, "memory file: 1 and 2");
	check_int(count(out, "pipe:"), 1, "pipes: 0 only");
	check_contains(out, " 0 -> pipe:", "stdin");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
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
	return g_test_run();
}
