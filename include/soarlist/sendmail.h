/* sendmail.h - reinjecting a message: fork/exec of the configured sendmail
 * with an argv (never a shell), the message streamed to its stdin.
 */
#ifndef SOARLIST_SENDMAIL_H
#define SOARLIST_SENDMAIL_H

#include <glib.h>

#include "soarlist/message.h"

/* sendmail_timeout's default, for callers without a config. */
#define SENDMAIL_TIMEOUT_DEFAULT 300

/* Run PROGRAM -i -f SENDER -XV -- RECIPIENTS... and write MSG (headers
 * as rewritten, body verbatim) to it. SENDER "" means the null sender.
 * Returns 0 when sendmail read everything and exited 0, else -1 with
 * *error saying what happened (exit status, signal, write error). Unless
 * the whole message was written, sendmail is killed with SIGKILL before
 * its input ends; so it is when it has not exited TIMEOUT seconds (0:
 * never) after it started ("sendmail_timeout: ..."), or when the agent
 * catches a signal (proc_signals_init(): "interrupted by SIGTERM: ..."). */
int sendmail_send_timed(const char *program, guint timeout, const char *sender,
			gboolean verp, GPtrArray *recipients,
			const struct message *msg, GError **error);

/* sendmail_send_timed() with SENDMAIL_TIMEOUT_DEFAULT. */
int sendmail_send(const char *program, const char *sender, gboolean verp,
		  GPtrArray *recipients, const struct message *msg,
		  GError **error);

#endif
