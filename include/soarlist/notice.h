/* notice.h - messages soarlist writes itself (to owners about a held post,
 * to a sender about a rejected one), sent through sendmail like any post.
 */
#ifndef SOARLIST_NOTICE_H
#define SOARLIST_NOTICE_H

#include <glib.h>

#include "soarlist/config.h"

/* REPLY_TO (may be NULL) becomes the Reply-To header.
 * Send a text/plain UTF-8 message FROM (a header value) TO (addresses,
 * comma-joined into To:) with SUBJECT and BODY, marked Auto-Submitted:
 * auto-generated, envelope sender ENVELOPE ("" for the null sender), to
 * the addresses RCPTS (or dev_redirect). Returns 0 or -1 with *error. */
int notice_send(const struct config *cfg, const char *envelope,
		const char *from, const char *reply_to, GPtrArray *rcpts,
		const char *subject, const char *body, GError **error);

#endif
