/* moderate.c - approve, reject or discard a held post (moderate.h).
 *
 * Exactly once: the post is claimed (held_claim) before anything is done,
 * forgotten only after the action succeeded, and given back to the queue
 * when it failed (sendmail refused the post, the notice could not go), so
 * a failure never loses it and two moderators never both act on it.
 */
#include "soarlist/moderate.h"

#include "soarlist/maillog.h"

const char *
moderate_action_name(enum moderate_action a)
{
	switch (a) {
	case MODERATE_REJECT:
		return "rejected";
	case MODERATE_DISCARD:
		return "discarded";
	case MODERATE_APPROVE:
		break;
	}
	return "approved";
}

/* Claim ROW's post. Returns 0, or -1 with *error saying who has it. */
static int
claim(sqlite3 *db, const struct held_row *row, GError **error)
{
	struct held_row claimed;
	int rc = held_claim(db, row->id, &claimed, error);

	if (rc == HELD_CLAIMED) {
		held_row_clear(&claimed);
		return 0;
	}
	if (rc == HELD_BUSY)
		g_set_error(error, MODERATE_ERROR, MODERATE_ERROR_BUSY,
			    "held post %" G_GINT64_FORMAT " is being handled "
			    "by another moderator right now",
			    row->id);
	else if (rc >= 0)
		g_set_error(error, MODERATE_ERROR, MODERATE_ERROR_HANDLED,
			    "held post %" G_GINT64_FORMAT " was already "
			    "handled",
			    row->id);
	if (rc >= 0)
		maillog_info("held id=%" G_GINT64_FORMAT
			     " list=<%s> action=none "
			     "reason=%s",
			     row->id, row->list_address,
			     rc == HELD_BUSY ? "busy" : "already-handled");
	return -1;
}

int
moderate(const struct config *cfg, sqlite3 *db, const struct held_row *row,
	 enum moderate_action action, const char *reason,
	 moderate_distribute_fn distribute, GError **error)
{
	GError *err = NULL;
	int rc = 0;

	if (claim(db, row, error) < 0)
		return -1;
	if (action == MODERATE_APPROVE)
		rc = distribute(cfg, db, row, error);
	else if (action == MODERATE_REJECT)
		rc = held_tell_sender(cfg, row,
				      "was not accepted by the list's "
				      "moderators",
				      reason, error);
	if (rc < 0) {
		/* back in the queue: another try, or another moderator */
		if (held_release(db, row->id, &err) < 0) {
			maillog_warning("held id=%" G_GINT64_FORMAT ": %s (the "
					"claim lapses when this process ends)",
					row->id, err->message);
			g_error_free(err);
		}
		return -1;
	}
	maillog_info("held id=%" G_GINT64_FORMAT " list=<%s> action=%s",
		     row->id, row->list_address, moderate_action_name(action));
	if (held_delete(db, row->id, &err) < 0) {
		g_set_error(error, MODERATE_ERROR, MODERATE_ERROR_REMAINS,
			    "held post %" G_GINT64_FORMAT " was %s but cannot "
			    "be forgotten: %s",
			    row->id, moderate_action_name(action),
			    err->message);
		maillog_warning("held id=%" G_GINT64_FORMAT " %s but not "
				"forgotten: %s",
				row->id, moderate_action_name(action),
				err->message);
		g_error_free(err);
		return -1;
	}
	return 0;
}
