/* deliver-post.c - act()'s distribute branch: a post the policy let
 * through is claimed for its list (seen.h: duplicates and one copy per
 * person), given its footer and list headers, stamped for bounce
 * verification, handed to sendmail (with or without VERP, verp.h) and
 * archived. act() settles the claim.
 */
#include "deliver-internal.h"

#include "soarlist/archive.h"
#include "soarlist/bounce-proof.h"
#include "soarlist/footer.h"
#include "soarlist/maillog.h"
#include "soarlist/rewrite.h"
#include "soarlist/seen.h"
#include "soarlist/verp.h"

/* Claim the post: V's recipients become those who do not have it already
 * through another list of the club. FALSE when nothing was claimed (V
 * says why). */
static gboolean
claim(struct job *j, struct verdict *v)
{
	GPtrArray *once = NULL;
	GError *err = NULL;
	int rc = seen_claim(j->db, v->list.club_id, v->list.id, v->claim,
			    &v->members, &once, &err);

	if (rc < 0) {
		act_defer(v, "list database unavailable", err);
		g_error_free(err);
		return FALSE;
	}
	if (rc == 0) {
		verdict_set(v, OUTCOME_DROP_DUPLICATE, NULL);
		return FALSE;
	}
	g_ptr_array_unref(v->rcpts);
	v->rcpts = once;
	if (once->len == 0)
		verdict_set(
			v, OUTCOME_DROP_DUPLICATE,
			g_strdup(
				"every member has it through another list of the club"));
	return TRUE;
}

/* Rewrite the post and hand it to sendmail for V's recipients. */
static void
send_post(struct job *j, struct verdict *v)
{
	GError *err = NULL;
	struct rewrite_input in = {
		.list = &v->list,
		.envelope_sender = j->sender,
		.redirected_members = v->redirected,
	};

	if (footer_apply(&j->msg, &v->list, j->cfg->spool_dir, &err) < 0) {
		act_defer(v, "cannot add the list footer", err);
		g_error_free(err);
		return;
	}
	rewrite_headers(j->msg.headers, &in);
	/* without the token the post's bounces score nobody: better than no
	 * post (bounce-proof.h) */
	if (bounce_proof_stamp(j->db, &v->list, j->msg.headers, &err) < 0) {
		maillog_warning("list=<%s> msgid=<%s>: its bounces will not be "
				"verified: %s",
				v->list.address, v->msgid, err->message);
		g_clear_error(&err);
	}
	if (verp_send(j->cfg, j->db, &v->list, v->rcpts, &j->msg, &err) < 0) {
		act_defer(v, "cannot reinject the message", err);
		g_error_free(err);
		return;
	}
	/* sendmail has the message: from here on, success is final */
	if (archive_store(j->cfg, &v->list, &j->msg, &err) < 0) {
		maillog_warning("list=<%s> msgid=<%s>: distributed, but not "
				"archived: %s",
				v->list.address, v->msgid, err->message);
		g_error_free(err);
	}
}

gboolean
act_distribute(struct job *j, struct verdict *v)
{
	gboolean claimed = FALSE;

	if (v->claim != NULL) {
		claimed = claim(j, v);
		if (!claimed || v->outcome != OUTCOME_DISTRIBUTE)
			return claimed;
	}
	send_post(j, v);
	return claimed;
}
