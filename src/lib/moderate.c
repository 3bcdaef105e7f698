/* moderate.c - approve, reject or discard a held post (moderate.h).
 *
 * Exactly once: the post is claimed (held_claim) before anything is done,
 * forgotten only after the action succeeded, and given back to the queue
 * when it failed (sendmail refused the post, the notice could not go), so
 * a failure never loses it and two moderators never both act on it.
 */
#include "soarlist/moderate.h"

#include <errno.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist/deliver.h"
#include "soarlist/maillog.h"
#include "soarlist/spool.h"

const char *
moderate_action_name(enum moderate_action a)
{
	switch (a) {
	case MODERATE_REJECT: return "rejected";
	case MODERATE_DISCARD: return "discarded";
	case MODERATE_APPROVE: break;
	}
	return "approved";
}

/* A new, empty, unlinked spool file: spool_from_fd on an empty pipe. */
static int
empty_spool(const char *dir, struct spool *spool_r, GError **error)
{
	int p[2], rc;

	if (pipe(p) < 0) {
		g_set_error(error, MODERATE_ERROR, MODERATE_ERROR_FAILED,
			    "pipe: %s", g_strerror(errno));
		return -1;
	}
	close(p[1]);
	rc = spool_from_fd(p[0], dir, spool_r, error);
	close(p[0]);
	return rc;
}

/* The stored bytes become the delivery agent's stdin, as if Postfix had
 * just handed the post over; the policy is not asked again. */
static int
approve(const struct config *cfg, sqlite3 *db, const struct held_row *row,
	GError **error)
{
	struct spool spool = { .fd = -1 };
	int rc;

	if (empty_spool(cfg->spool_dir, &spool, error) < 0 ||
	    held_extract(db, row->id, spool.fd, error) < 0 ||
	    lseek(spool.fd, 0, SEEK_SET) < 0) {
		if (error != NULL && *error == NULL)
			g_set_error(error, MODERATE_ERROR,
				    MODERATE_ERROR_FAILED, "%s",
				    g_strerror(errno));
		spool_close(&spool);
		return -1;
	}
	{
		struct deliver_request req = {
			.cfg = cfg, .sender = row->sender,
			.recipient = row->recipient, .in_fd = spool.fd,
			.approved = TRUE,
		};
		rc = deliver_run(&req);
	}
	spool_close(&spool);
	if (rc != EX_OK) {
		g_set_error(error, MODERATE_STATUS_ERROR, rc, "not distributed "
			    "(status %d); the post stays held", rc);
		return -1;
	}
	return 0;
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
			    "by another moderator right now", row->id);
	else if (rc >= 0)
		g_set_error(error, MODERATE_ERROR, MODERATE_ERROR_HANDLED,
			    "held post %" G_GINT64_FORMAT " was already "
			    "handled", row->id);
	if (rc >= 0)
		maillog_info("held id=%" G_GINT64_FORMAT " list=<%s> action=none "
			     "reason=%s", row->id, row->list_address,
			     rc == HELD_BUSY ? "busy" : "already-handled");
	return -1;
}

int
moderate(const struct config *cfg, sqlite3 *db, const struct held_row *row,
	 enum moderate_action action, const char *reason, GError **error)
{
	GError *err = NULL;
	int rc = 0;

	if (claim(db, row, error) < 0)
		return -1;
	if (action == MODERATE_APPROVE)
		rc = approve(cfg, db, row, error);
	else if (action == MODERATE_REJECT)
		rc = held_tell_sender(cfg, row, "was not accepted by the list's "
				      "moderators", reason, error);
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
			    "be forgotten: %s", row->id,
			    moderate_action_name(action), err->message);
		maillog_warning("held id=%" G_GINT64_FORMAT " %s but not "
				"forgotten: %s", row->id,
				moderate_action_name(action), err->message);
		g_error_free(err);
		return -1;
	}
	return 0;
}
