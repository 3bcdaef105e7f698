/* proc.c - run a helper program and capture its output.
 *
 * The output goes to a memory file rather than a pipe, so a chatty child
 * can never block on a full pipe while we wait for it.
 */
#include "soarlist/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#define PROC_ERROR (g_quark_from_static_string("soarlist-proc"))
#define PROC_OUTPUT_MAX (1024 * 1024)

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

static char *
first_line(const char *text)
{
	char *line = g_strndup(text, strcspn(text, "\n"));

	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return line;
}

static void
set_status_error(GError **error, const char *prog, int status,
		 const char *out)
{
	char *line = first_line(out);

	if (WIFEXITED(status))
		g_set_error(error, PROC_ERROR, WEXITSTATUS(status),
			    "%s exited with status %d%s%s", prog,
			    WEXITSTATUS(status), *line ? ": " : "", line);
	else
		g_set_error(error, PROC_ERROR, 0, "%s was killed by signal %d",
			    prog, WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	g_free(line);
}

int
proc_run(char *const argv[], char **output_r, GError **error)
{
	int out = memfd_create("proc-output", MFD_CLOEXEC);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int status = 0;
	char *text;
	pid_t pid = -1;

	if (out >= 0 && devnull >= 0)
		pid = fork();
	if (pid < 0) {
		g_set_error(error, PROC_ERROR, errno, "cannot run %s: %s",
			    argv[0], g_strerror(errno));
		if (out >= 0)
			close(out);
		if (devnull >= 0)
			close(devnull);
		return -1;
	}
	if (pid == 0) {
		if (dup2(devnull, STDIN_FILENO) < 0 ||
		    dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
			_exit(EX_OSERR);
		execv(argv[0], argv);
		_exit(127);
	}
	close(devnull);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	text = read_output(out);
	close(out);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !*text)
			g_set_error(error, PROC_ERROR, 127, "cannot execute %s",
				    argv[0]);
		else
			set_status_error(error, argv[0], status, text);
		if (output_r != NULL)
			*output_r = text;
		else
			g_free(text);
		return -1;
	}
	if (output_r != NULL)
		*output_r = text;
	else
		g_free(text);
	return 0;
}
