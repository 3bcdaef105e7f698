/* cmd-bounces.c - soarlist bounces [LIST@DOMAIN]: the addresses disabled
 * after bounces and the bounce scores within bounce_window;
 * soarlist bounces reset ADDRESS: re-enable an address (every club) and
 * forget its scores. Exit 0; 1 when reset found nothing to reset or the
 * database failed; 64 on a usage error; 75 when the database is busy. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "soarlist/address.h"
#include "soarlist/bounce.h"
#include "soarlist/catalog.h"
#include "soarlist/maillog.h"

static char *
when(gint64 t)
{
	GDateTime *d = g_date_time_new_from_unix_local(t);
	char *s = g_date_time_format(d, "%Y-%m-%d %H:%M");

	g_date_time_unref(d);
	return s;
}

static void
print_rows(const struct config *cfg, GPtrArray *rows)
{
	gboolean disabled = FALSE, scores = FALSE;

	for (guint i = 0; i < rows->len; i++) {
		const struct bounce_row *r = g_ptr_array_index(rows, i);
		char *t = when(r->disabled_at ? r->disabled_at : r->last_at);

		if (r->disabled_at && !disabled) {
			printf("Disabled (no list mail until 'soarlist bounces "
			       "reset ADDRESS'):\n");
			disabled = TRUE;
		} else if (!r->disabled_at && !scores) {
			guint64 w = cfg->bounce_window;
			printf("%sBounce scores (within %" G_GUINT64_FORMAT " %s; "
			       "%u disable an address):\n", disabled ? "\n" : "",
			       w % 86400 ? w : w / 86400, w % 86400 ? "seconds"
			       : "days", cfg->bounce_threshold);
			scores = TRUE;
		}
		if (r->disabled_at)
			printf("  %-8s %-32s since %s  scores %u  %s\n",
			       r->club_slug, r->address, t, r->scores, r->reason);
		else
			printf("  %-8s %-32s scores %u  last %s  %s\n",
			       r->club_slug, r->address, r->scores, t,
			       r->last_status ? r->last_status : "");
		g_free(t);
	}
	if (rows->len == 0)
		printf("No bounces.\n");
}

static int
reset(struct cli *cli, const char *arg)
{
	GError *err = NULL;
	const char *why = NULL;
	char *address = address_normalize(arg, &why);
	int n;

	if (address == NULL) {
		cli_error("%s: not an address (%s)", arg, why);
		return CLI_USAGE;
	}
	n = bounce_reset(cli->db, address, &err);
	if (n < 0) {
		g_free(address);
		return cli_fail(&err, NULL);
	}
	if (n == 0) {
		cli_error("%s: not disabled and no bounce scores", address);
		g_free(address);
		return CLI_FAIL;
	}
	maillog_info("bounces reset address=<%s>", address);
	printf("%s re-enabled; its bounce scores are cleared\n", address);
	g_free(address);
	return CLI_OK;
}

int
cmd_bounces(struct cli *cli, int argc, char **argv)
{
	struct list_ref ref = { 0 };
	GError *err = NULL;
	GPtrArray *rows;
	int rc = cli_parse(cli, NULL, 0, 2, &argc, &argv);

	if (rc != 0)
		return rc;
	if (argc >= 2 && strcmp(argv[1], "reset") == 0) {
		if (argc != 3) {
			cli_error("usage: soarlist bounces reset ADDRESS");
			return CLI_USAGE;
		}
		return (rc = cli_open(cli)) != 0 ? rc : reset(cli, argv[2]);
	}
	if (argc > 2) {
		cli_error("usage: soarlist %s %s", cli->cmd->name, cli->cmd->args);
		return CLI_USAGE;
	}
	if ((rc = cli_open(cli)) != 0 ||
	    (argc == 2 && (rc = cli_resolve(cli, argv[1], &ref)) != 0))
		return rc;
	rows = bounce_report(cli->db, cli->cfg, ref.club_id, ref.id, &err);
	list_ref_clear(&ref);
	if (rows == NULL)
		return cli_fail(&err, NULL);
	print_rows(cli->cfg, rows);
	g_ptr_array_unref(rows);
	return CLI_OK;
}
