/* moderate.c - approve, reject or discard a held post (moderate.h). */
#include "soarlist/moderate.h"

#include <errno.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist/deliver.h"
#include "soarlist/maillog.h"
#include "soarlist/spool.h"

#define MODERATE_ERROR (g_quark_from_static_string("soarlist-moderate"))

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
		g_set_error(error, MODERATE_ERROR, errno, "pipe: %s",
			    g_strerror(errno));
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
			g_set_error(error, MODERATE_ERROR, errno, "%s",
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

int
moderate(const struct config *cfg, sqlite3 *db, const struct held_row *row,
	 enum moderate_action action, const char *reason, GError **error)
{
	int rc = 0;

	if (action == MODERATE_APPROVE)
		rc = approve(cfg, db, row, error);
	else if (action == MODERATE_REJECT)
		rc = held_tell_sender(cfg, row, "was not accepted by the list's "
				      "moderators", reason, error);
	if (rc == 0)
		rc = held_delete(db, row->id, error);
	if (rc == 0)
		maillog_info("held id=%" G_GINT64_FORMAT " list=<%s> action=%s",
			     row->id, row->list_address,
			     moderate_action_name(action));
	return rc;
}
