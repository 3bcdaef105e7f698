/* sendmail.c - reinjection through the configured sendmail program.
 *
 * fork/exec with an argv: no shell ever sees an address. The message goes
 * to the child's stdin in large writes; SIGPIPE is ignored here (not in the
 * child) so that a sendmail that dies early shows up as a write error and
 * an exit status, both of which make the caller defer. What sendmail prints
 * goes to a memory file and into our error text, never to pipe(8): a line
 * of its starting with "5.x.x" would otherwise turn our deferral into a
 * bounce. Nothing is sent whose header block fails header_block_check()
 * (header-check.c): the caller defers, naming the cause.
 */
#include "soarlist/sendmail.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist/header-check.h"

#define SENDMAIL_ERROR (g_quark_from_static_string("soarlist-sendmail"))

static char **
build_argv(const char *program, const char *sender, gboolean verp,
	   GPtrArray *recipients)
{
	GPtrArray *argv = g_ptr_array_new();

	g_ptr_array_add(argv, (char *)program);
	g_ptr_array_add(argv, "-i");
	g_ptr_array_add(argv, "-f");
	g_ptr_array_add(argv, (char *)(*sender ? sender : "<>"));
	if (verp)
		g_ptr_array_add(argv, "-XV");
	g_ptr_array_add(argv, "--");
	for (guint i = 0; i < recipients->len; i++)
		g_ptr_array_add(argv, g_ptr_array_index(recipients, i));
	g_ptr_array_add(argv, NULL);
	return (char **)g_ptr_array_free(argv, FALSE);
}

/* The first line sendmail printed, made printable, or NULL. */
static char *
child_output(int fd)
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *nl;

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return g_strdup(buf);
}

static int
wait_child(pid_t pid, const char *program, GError **error)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			g_set_error(error, SENDMAIL_ERROR, errno, "waitpid: %s",
				    g_strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		g_set_error(error, SENDMAIL_ERROR, WEXITSTATUS(status),
			    "%s exited with status %d", program,
			    WEXITSTATUS(status));
	else
		g_set_error(error, SENDMAIL_ERROR, 0,
			    "%s was killed by signal %d", program,
			    WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	return -1;
}

int
sendmail_send(const char *program, const char *sender, gboolean verp,
	      GPtrArray *recipients, const struct message *msg,
	      GError **error)
{
	char **argv;
	struct sigaction ign = { .sa_handler = SIG_IGN };
	int p[2] = { -1, -1 }, werr = 0, rc, out;
	size_t head_len;
	g_autofree char *head = header_block_serialize(msg->headers, &head_len);
	char *said;
	pid_t pid;

	/* the invariant, on the very bytes that will be sent */
	if (header_block_check(head, head_len, error) < 0)
		return -1;
	argv = build_argv(program, sender, verp, recipients);
	sigaction(SIGPIPE, &ign, NULL);
	out = memfd_create("sendmail-output", MFD_CLOEXEC);
	if (out < 0 || pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		g_set_error(error, SENDMAIL_ERROR, errno, "cannot run %s: %s",
			    program, g_strerror(errno));
		if (out >= 0)
			close(out);
		if (p[0] >= 0) {
			close(p[0]);
			close(p[1]);
		}
		g_free(argv);
		return -1;
	}
	if (pid == 0) {
		/* child: only async-signal-safe calls from here */
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigaction(SIGPIPE, &dfl, NULL);
		if (dup2(p[0], STDIN_FILENO) < 0 ||
		    dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
			_exit(EX_OSERR);
		execv(program, argv);
		_exit(EX_UNAVAILABLE);
	}
	close(p[0]);
	g_free(argv);
	if (message_write_head(msg, head, head_len, p[1]) < 0)
		werr = errno;
	close(p[1]);
	rc = wait_child(pid, program, error);
	said = child_output(out);
	close(out);
	if (rc < 0 && said != NULL)
		g_prefix_error(error, "%s said \"%s\"; ", program, said);
	g_free(said);
	if (rc == 0 && werr != 0) {
		/* exit 0 without reading everything: not safe to count on */
		g_set_error(error, SENDMAIL_ERROR, werr,
			    "writing to %s: %s", program, g_strerror(werr));
		rc = -1;
	} else if (rc < 0 && werr != 0) {
		g_prefix_error(error, "writing to it failed (%s); ",
			       g_strerror(werr));
	}
	return rc;
}
