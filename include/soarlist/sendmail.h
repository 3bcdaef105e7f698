/* sendmail.h - reinjecting a message: fork/exec of the configured sendmail
 * with an argv (never a shell), the message streamed to its stdin.
 */
#ifndef SOARLIST_SENDMAIL_H
#define SOARLIST_SENDMAIL_H

#include <glib.h>

#include "soarlist/message.h"

/* Run PROGRAM -i -f SENDER -XV -- RECIPIENTS... and write MSG (headers
 * as rewritten, body verbatim) to it. SENDER "" means the null sender.
 * Returns 0 when sendmail read everything and exited 0, else -1 with
 * *error saying what happened (exit status, signal, write error). */
int sendmail_send(const char *program, const char *sender, gboolean verp,
		  GPtrArray *recipients, const struct message *msg,
		  GError **error);

#endif
