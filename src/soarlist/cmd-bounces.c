/* cmd-bounces.c - soarlist bounces [LIST@DOMAIN]: the addresses disabled
 * after bounces, the bounce scores within bounce_window (with a pending
 * VERP probe, verp = probe), the members named by unverified bounces (not
 * scored) and the lists whose next post is a VERP probe to everyone;
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

/* "  probe pending" or "  probe sent DATE" for a row with a VERP probe
 * (verp = probe), then " unverified N (last STATUS)" for a row with
 * unproven DSNs; or "". */
static char *
unverified_text(const struct bounce_row *r)
{
	g_autofree char *sent = r->probe_sent_at ? when(r->probe_sent_at)
						 : NULL;
	g_autofree char *probe = !r->probe_at ? g_strdup("")
				 : sent ? g_strdup_printf("  probe sent %s",
							  sent)
					: g_strdup("  probe pending");

	if (r->unverified == 0)
		return g_steal_pointer(&probe);
	return g_strdup_printf(
		"%s  unverified %u (last %s)", probe, r->unverified,
		r->unverified_status ? r->unverified_status : "");
}

/* Print the heading of the section of R unless *SECTION_R (the section
 * of the row before; 0 before the first) is already that one. */
static void
print_heading(const struct config *cfg, const struct bounce_row *r,
	      int *section_r)
{
	int section = r->disabled_at ? 1 : r->scores ? 2 : 3;
	guint64 w = cfg->bounce_window;

	if (section == *section_r)
		return;
	printf("%s", *section_r ? "\n" : "");
	if (section == 1)
		printf("Disabled (no list mail until 'soarlist bounces "
		       "reset ADDRESS'):\n");
	else if (section == 2)
		printf("Bounce scores (within %" G_GUINT64_FORMAT " %s; "
		       "%u disable an address):\n",
		       w % 86400 ? w : w / 86400,
		       w % 86400 ? "seconds" : "days", cfg->bounce_threshold);
	else
		printf("Unverified bounces (not scored: they do not prove they "
		       "answer a post of the list):\n");
	*section_r = section;
}

static void
print_rows(const struct config *cfg, GPtrArray *rows)
{
	int section = 0;

	for (guint i = 0; i < rows->len; i++) {
		const struct bounce_row *r = g_ptr_array_index(rows, i);
		char *t = when(r->disabled_at ? r->disabled_at
			       : r->scores    ? r->last_at
					      : r->unverified_at);
		char *u = unverified_text(r);

		print_heading(cfg, r, &section);
		if (r->disabled_at)
			printf("  %-8s %-32s since %s  scores %u  %s%s\n",
			       r->club_slug, r->address, t, r->scores,
			       r->reason, u);
		else if (r->scores)
			printf("  %-8s %-32s scores %u  last %s  %s%s\n",
			       r->club_slug, r->address, r->scores, t,
			       r->last_status ? r->last_status : "", u);
		else
			printf("  %-8s %-32s unverified %u  last %s  %s\n",
			       r->club_slug, r->address, r->unverified, t,
			       r->unverified_status ? r->unverified_status
						    : "");
		g_free(u);
		g_free(t);
	}
}

/* The lists whose next post goes to everyone with VERP. */
static void
print_list_probes(GPtrArray *probes, gboolean after)
{
	for (guint i = 0; i < probes->len; i++) {
		const struct bounce_list_probe *p = g_ptr_array_index(probes,
								      i);
		g_autofree char *t = when(p->at);
		g_autofree char *sent = p->sent_at ? when(p->sent_at) : NULL;

		if (i == 0)
			printf("%sVERP probes of whole lists (a verified bounce "
			       "named no member of the club):\n",
			       after ? "\n" : "");
		printf("  %-8s %-32s asked %s  %s%s\n", p->club_slug, p->list,
		       t, sent ? "sent " : "pending: the next post",
		       sent ? sent : "");
	}
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
	GPtrArray *rows, *probes;
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
		cli_error("usage: soarlist %s %s", cli->cmd->name,
			  cli->cmd->args);
		return CLI_USAGE;
	}
	if ((rc = cli_open(cli)) != 0 ||
	    (argc == 2 && (rc = cli_resolve(cli, argv[1], &ref)) != 0))
		return rc;
	rows = bounce_report(cli->db, cli->cfg, ref.club_id, ref.id, &err);
	probes = rows == NULL ? NULL
			      : bounce_list_probes(cli->db, cli->cfg,
						   ref.club_id, ref.name, &err);
	list_ref_clear(&ref);
	if (probes == NULL) {
		if (rows != NULL)
			g_ptr_array_unref(rows);
		return cli_fail(&err, NULL);
	}
	print_rows(cli->cfg, rows);
	print_list_probes(probes, rows->len > 0);
	if (rows->len == 0 && probes->len == 0)
		printf("No bounces.\n");
	g_ptr_array_unref(probes);
	g_ptr_array_unref(rows);
	return CLI_OK;
}
