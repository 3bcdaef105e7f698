/* sendmail.c - reinjection through the configured sendmail program.
 *
 * proc_start() with an argv: no shell ever sees an address. The message
 * goes to the child's stdin in large writes; SIGPIPE is ignored here (not
 * in the child) so that a sendmail that dies early shows up as a write
 * error and an exit status, both of which make the caller defer. What
 * sendmail prints goes to a memory file and into our error text (its first
 * line, made printable), never to pipe(8): a line of its starting with
 * "5.x.x" would otherwise turn our deferral into a bounce. Nothing is sent
 * whose header block fails header_block_check() (header-check.c): the caller
 * defers, naming the cause.
 *
 * sendmail sees a clean end of input only after the whole message was
 * written: a failed copy (a read error on the spool, a write error), a
 * signal to the agent and the time limit all kill it first (proc.h), since
 * Postfix's sendmail queues whatever it read when its stdin ends.
 */
#include "soarlist/sendmail.h"

#include <errno.h>

#include "soarlist/header-check.h"
#include "soarlist/proc.h"

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

int
sendmail_send_timed(const char *program, guint timeout, const char *sender,
		    gboolean verp, GPtrArray *recipients,
		    const struct message *msg, GError **error)
{
	g_autofree char **argv = NULL;
	size_t head_len;
	g_autofree char *head = header_block_serialize(msg->headers, &head_len);
	GError *err = NULL;
	struct proc p;
	int werr;

	/* the invariant, on the very bytes that will be sent */
	if (header_block_check(head, head_len, error) < 0)
		return -1;
	argv = build_argv(program, sender, verp, recipients);
	if (proc_start(&p, argv, TRUE, timeout, &err) < 0)
		goto fail;
	if (message_write_head(msg, head, head_len, p.in) == 0) {
		if (proc_finish(&p, NULL, &err) == 0)
			return 0;
		goto fail;
	}
	/* a read error on the spool or a write error: sendmail must not see
	 * the end of its input */
	werr = errno;
	proc_kill(&p, NULL, &err);
	if (err->code != PROC_ERROR_INTERRUPTED &&
	    err->code != PROC_ERROR_TIMEOUT)
		g_prefix_error(&err, "copying the message to it failed (%s); ",
			       g_strerror(werr));
fail:
	if (err->code == PROC_ERROR_TIMEOUT)
		g_prefix_error(&err, "sendmail_timeout: ");
	g_propagate_error(error, err);
	return -1;
}

int
sendmail_send(const char *program, const char *sender, gboolean verp,
	      GPtrArray *recipients, const struct message *msg, GError **error)
{
	return sendmail_send_timed(program, SENDMAIL_TIMEOUT_DEFAULT, sender,
				   verp, recipients, msg, error);
}
