/* deliver-owners.c - act()'s branches for mail to a list's role
 * addresses: -owner mail is forwarded to the owners, unmodified but for
 * trace headers; a DSN to -bounces is scored (bounce.h), and whatever
 * comes there that is no DSN goes to the owners, never to the list.
 */
#include "deliver-internal.h"

#include "soarlist/bounce.h"
#include "soarlist/recipient.h"
#include "soarlist/rewrite.h"
#include "soarlist/sendmail.h"

void
act_forward(struct job *j, struct verdict *v)
{
	gboolean bounce = v->rcpt.kind == RECIPIENT_BOUNCES;
	g_autofree char *marker = recipient_format(
		bounce ? RECIPIENT_BOUNCES : RECIPIENT_OWNER, v->list.name,
		v->list.domain, NULL);
	/* a forward that bounces must not come back to -bounces */
	g_autofree char *sender = bounce ? g_strdup("")
					 : recipient_format(RECIPIENT_BOUNCES,
							    v->list.name,
							    v->list.domain,
							    NULL);
	GError *err = NULL;

	while (g_mime_header_list_remove(j->msg.headers, "Return-Path"))
		;
	rewrite_clean_headers(j->msg.headers); /* DESIGN: header invariant */
	g_mime_header_list_append(j->msg.headers, "X-Loop", marker, NULL);
	if (sendmail_send_timed(j->cfg->sendmail, j->cfg->sendmail_timeout,
				sender, FALSE, v->rcpts, &j->msg, &err) < 0) {
		act_defer(v, "cannot forward to the list owner", err);
		g_error_free(err);
		return;
	}
	if (bounce)
		verdict_set(v, OUTCOME_BOUNCE_FORWARD, NULL);
}

void
act_bounce(struct job *j, struct verdict *v)
{
	static const enum outcome outcomes[] = {
		[BOUNCE_SCORED] = OUTCOME_BOUNCE_SCORED,
		[BOUNCE_IGNORED] = OUTCOME_BOUNCE_IGNORED,
		[BOUNCE_DISABLED] = OUTCOME_BOUNCE_DISABLED,
		[BOUNCE_UNVERIFIED] = OUTCOME_BOUNCE_UNVERIFIED,
	};
	GError *err = NULL;
	char *detail = NULL;
	int rc = bounce_process(j->db, j->cfg, &v->list, &v->rcpt, &j->msg,
				&detail, &err);

	if (rc < 0) {
		act_defer(v, "cannot process the bounce", err);
		g_error_free(err);
	} else if (rc == BOUNCE_NOT_A_DSN) {
		g_free(detail);
		if (v->forward_loops)
			verdict_set(v, OUTCOME_DROP_LOOP, NULL);
		else
			act_forward(j, v);
	} else {
		verdict_set(v, outcomes[rc], detail);
	}
}
