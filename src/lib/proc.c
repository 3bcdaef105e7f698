/* proc.c - run a helper program and capture its output: the one
 * fork/exec/wait of soarlist (sendmail.c, postfix-maps.c, doctor.c).
 *
 * The output goes to a memory file rather than a pipe, so a chatty child
 * can never block on a full pipe while we wait for it or write to it. A
 * failed exec is reported through a close-on-exec pipe, so the caller
 * learns its errno instead of guessing from an exit status.
 */
#include "soarlist/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist/printable.h"

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
	buf = g_malloc(len + 1);
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

/* In the child: only async-signal-safe calls. Never returns. */
static void G_GNUC_NORETURN
child(char *const argv[], int in, int out, int report)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int err;

	sigaction(SIGPIPE, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(out, STDERR_FILENO) < 0)
		_exit(EX_OSERR);
	execv(argv[0], argv);
	err = errno;
	if (write(report, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int
proc_start(struct proc *p, char *const argv[], gboolean with_stdin,
	   GError **error)
{
	int in[2] = { -1, -1 }, report[2] = { -1, -1 };
	int err = 0, status;
	ssize_t n;

	p->prog = NULL;
	p->pid = -1;
	p->in = -1;
	p->out = memfd_create("proc-output", MFD_CLOEXEC);
	if (p->out < 0)
		goto fail;
	if (with_stdin) {
		struct sigaction ign = { .sa_handler = SIG_IGN };

		sigaction(SIGPIPE, &ign, NULL);
		if (pipe2(in, O_CLOEXEC) < 0)
			goto fail;
	} else if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		goto fail;
	}
	if (pipe2(report, O_CLOEXEC) < 0 || (p->pid = fork()) < 0)
		goto fail;
	if (p->pid == 0)
		child(argv, in[0], p->out, report[1]);
	close_fd(&in[0]);
	close_fd(&report[1]);
	/* EOF: the exec worked; an int: it did not */
	while ((n = read(report[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close_fd(&report[0]);
	if (n == sizeof(err)) {
		reap(p->pid, &status);
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

int
proc_finish(struct proc *p, char **output_r, GError **error)
{
	g_autofree char *text = NULL;
	int status = 0, rc = 0;

	close_fd(&p->in);
	if (reap(p->pid, &status) < 0) {
		g_set_error(error, PROC_ERROR, errno, "waitpid for %s: %s",
			    p->prog, g_strerror(errno));
		rc = -1;
	}
	p->pid = -1;
	text = read_output(p->out);
	close_fd(&p->out);
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		set_status_error(error, p->prog, status, text);
		rc = -1;
	}
	g_clear_pointer(&p->prog, g_free);
	if (output_r != NULL)
		*output_r = g_steal_pointer(&text);
	return rc;
}

int
proc_run(char *const argv[], char **output_r, GError **error)
{
	struct proc p;

	if (proc_start(&p, argv, FALSE, error) < 0) {
		if (output_r != NULL)
			*output_r = g_strdup("");
		return -1;
	}
	return proc_finish(&p, output_r, error);
}
