/* cmd-held.c - the moderation queue: soarlist held [LIST@DOMAIN],
 * approve ID, reject ID [--reason TEXT], discard ID (moderate.c does the
 * work: an approved post goes through exactly the delivery agent's path,
 * a rejected one is answered to its sender; each acts exactly once, also
 * when two moderators act at once). Exit 0; 1 when there is no such post,
 * another moderator handled it already or is handling it, or acting on it
 * failed; 64 on a usage error; 75 when the database is busy or the
 * approved post's delivery was deferred (it stays held). */
#include <stdio.h>

#include "cli.h"
#include "soarlist/deliver.h"
#include "soarlist/held.h"
#include "soarlist/maillog.h"
#include "soarlist/moderate.h"

static char *opt_reason;

static const GOptionEntry reject_entries[] = {
	{ "reason", 'r', 0, G_OPTION_ARG_STRING, &opt_reason,
	  "Why, for the sender", "TEXT" },
	G_OPTION_ENTRY_NULL,
};

int
cmd_held(struct cli *cli, int argc, char **argv)
{
	struct list_ref ref = { 0 };
	GError *err = NULL;
	GPtrArray *rows;
	int rc = cli_parse(cli, NULL, 0, 1, &argc, &argv);

	if (rc != 0 || (rc = cli_open(cli)) != 0 ||
	    (argc == 2 && (rc = cli_resolve(cli, argv[1], &ref)) != 0))
		return rc;
	rows = held_list(cli->db, ref.id, &err);
	list_ref_clear(&ref);
	if (rows == NULL)
		return cli_fail(&err, NULL);
	for (guint i = 0; i < rows->len; i++) {
		const struct held_row *r = g_ptr_array_index(rows, i);
		GDateTime *t = g_date_time_new_from_unix_local(r->held_at);
		char *when = g_date_time_format(t, "%Y-%m-%d %H:%M");

		printf("%" G_GINT64_FORMAT
		       "  %s  %s  from %s  %" G_GINT64_FORMAT
		       " bytes  %s\n    %s%s\n",
		       r->id, when, r->list_address,
		       r->author ? r->author : r->sender, r->size,
		       r->subject ? r->subject : "(no subject)", r->reason,
		       r->busy ? " (being handled by a moderator now)" : "");
		g_free(when);
		g_date_time_unref(t);
	}
	g_ptr_array_unref(rows);
	return CLI_OK;
}

/* No held post ID to act on: STATE (enum held_claim) says why. */
static int
not_held(gint64 id, int state)
{
	if (state == HELD_UNKNOWN)
		cli_error("no held post %" G_GINT64_FORMAT, id);
	else if (state == HELD_BUSY)
		cli_error("held post %" G_GINT64_FORMAT " is being handled by "
			  "another moderator right now: see 'soarlist held' "
			  "in a moment",
			  id);
	else
		cli_error("held post %" G_GINT64_FORMAT " was already handled "
			  "(approved, rejected, discarded or expired)",
			  id);
	return CLI_FAIL;
}

static int
act_failed(struct cli *cli, gint64 id, GError **err)
{
	g_autofree char *what = NULL;

	if (g_error_matches(*err, MODERATE_ERROR, MODERATE_ERROR_HANDLED) ||
	    g_error_matches(*err, MODERATE_ERROR, MODERATE_ERROR_BUSY)) {
		int state = (*err)->code == MODERATE_ERROR_BUSY ? HELD_BUSY
								: HELD_HANDLED;
		g_clear_error(err);
		return not_held(id, state);
	}
	if (g_error_matches(*err, MODERATE_ERROR, MODERATE_ERROR_REMAINS)) {
		cli_error(
			"%s (remove it with 'soarlist discard %" G_GINT64_FORMAT
			"', never approve it again)",
			(*err)->message, id);
		g_clear_error(err);
		return CLI_FAIL;
	}
	what = g_strdup_printf("%s %" G_GINT64_FORMAT, cli->cmd->name, id);
	return cli_fail(err, what);
}

/* approve, reject or discard the held post named by argv[1] */
static int
act(struct cli *cli, int argc, char **argv, const GOptionEntry *entries,
    enum moderate_action action)
{
	struct held_row row;
	GError *err = NULL;
	char *end = NULL;
	gint64 id;
	int rc = cli_parse(cli, entries, 1, 1, &argc, &argv);

	if (rc != 0)
		return rc;
	id = g_ascii_strtoll(argv[1], &end, 10);
	if (end == argv[1] || *end != '\0' || id <= 0) {
		cli_error("%s: not a held post id", argv[1]);
		return CLI_USAGE;
	}
	if ((rc = cli_open(cli)) != 0)
		return rc;
	/* moderate() claims it again (the same process may): this claim
	 * tells a post never held from one handled already */
	rc = held_claim(cli->db, id, &row, &err);
	if (rc < 0) {
		g_autofree char *what = g_strdup_printf("%s %" G_GINT64_FORMAT,
							cli->cmd->name, id);
		g_prefix_error(&err, "not claimed, the post stays held: ");
		return cli_fail(&err, what);
	}
	if (rc != HELD_CLAIMED)
		return not_held(id, rc);
	if (moderate(cli->cfg, cli->db, &row, action, opt_reason,
		     deliver_approved, &err) < 0) {
		rc = act_failed(cli, row.id, &err);
	} else {
		printf("%s %" G_GINT64_FORMAT "\n",
		       moderate_action_name(action), row.id);
		rc = CLI_OK;
	}
	held_row_clear(&row);
	return rc;
}

int
cmd_approve(struct cli *cli, int argc, char **argv)
{
	return act(cli, argc, argv, NULL, MODERATE_APPROVE);
}

int
cmd_reject(struct cli *cli, int argc, char **argv)
{
	return act(cli, argc, argv, reject_entries, MODERATE_REJECT);
}

int
cmd_discard(struct cli *cli, int argc, char **argv)
{
	return act(cli, argc, argv, NULL, MODERATE_DISCARD);
}
