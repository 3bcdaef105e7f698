/* cmd-dkim.c - soarlist dkim: a DKIM key for every club domain that has
 * none, and OpenDKIM's KeyTable and SigningTable in dkim_dir;
 * soarlist dkim list: every key; soarlist dkim rotate DOMAIN: a new
 * signing key, the old one still published (soarlist dns) until
 * soarlist dkim retire DOMAIN SELECTOR. OpenDKIM reads its tables when it
 * starts or reloads: when they change, this says so. Exit 0; 1 when a key
 * or a table could not be written, or retire was refused; 64 on a usage
 * error; 75 when the database is busy; 78 when dkim_group does not
 * exist. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "soarlist/dkim.h"
#include "soarlist/maillog.h"

static void
report_key(const struct dkim_key *k, const char *how)
{
	printf("created key %s for %s\n", k->selector, k->domain);
	maillog_info("dkim domain=%s selector=%s status=%s", k->domain,
		     k->selector, how);
}

/* Write the tables; say what changed and that OpenDKIM must reload. */
static int
write_tables(struct cli *cli)
{
	g_autoptr(GPtrArray) changed = NULL;
	GError *err = NULL;

	if (dkim_write_tables(cli->db, cli->cfg, &changed, &err) < 0) {
		maillog_error("dkim status=failed reason=%s", err->message);
		return cli_fail(&err, "OpenDKIM's tables not updated, "
				      "previous ones kept");
	}
	for (guint i = 0; i < changed->len; i++) {
		printf("dkim: updated %s/%s\n", cli->cfg->dkim_dir,
		       (const char *)changed->pdata[i]);
		maillog_info("dkim table=%s/%s status=updated",
			     cli->cfg->dkim_dir,
			     (const char *)changed->pdata[i]);
	}
	if (changed->len > 0)
		printf("dkim: reload OpenDKIM to use them (systemctl reload "
		       "opendkim)\n");
	return CLI_OK;
}

static int
ensure(struct cli *cli)
{
	g_autoptr(GPtrArray) created = NULL;
	GError *err = NULL;
	int rc = dkim_ensure(cli->db, cli->cfg, &created, &err);

	if (rc < 0)
		return cli_fail(&err, "dkim");
	for (guint i = 0; i < created->len; i++)
		report_key(created->pdata[i], "created");
	return write_tables(cli);
}

static int
list_keys(struct cli *cli)
{
	g_autoptr(GPtrArray) keys = NULL;
	GError *err = NULL;

	if ((keys = dkim_keys(cli->db, NULL, &err)) == NULL)
		return cli_fail(&err, NULL);
	for (guint i = 0; i < keys->len; i++) {
		const struct dkim_key *k = keys->pdata[i];
		g_autoptr(GDateTime)
			d = g_date_time_new_from_unix_local(k->created_at);
		g_autofree char *when = g_date_time_format(d, "%Y-%m-%d");

		printf("%-40s %-24s %-10s %s\n", k->domain, k->selector,
		       k->signing ? "signing" : "published", when);
	}
	if (keys->len == 0)
		printf("No DKIM keys: soarlist dkim makes them.\n");
	return CLI_OK;
}

static int
rotate(struct cli *cli, const char *domain)
{
	g_autoptr(DkimKey) k = NULL;
	GError *err = NULL;

	if (dkim_rotate(cli->db, cli->cfg, domain, &k, &err) < 0)
		return cli_fail(&err, "dkim rotate");
	report_key(k, "rotated");
	printf("%s signs with %s from now on; publish it (soarlist dns) "
	       "and retire the old key once its record has been in DNS for "
	       "a few days\n",
	       k->domain, k->selector);
	return write_tables(cli);
}

static int
retire(struct cli *cli, const char *domain, const char *selector)
{
	GError *err = NULL;

	if (dkim_retire(cli->db, cli->cfg, domain, selector, &err) < 0)
		return cli_fail(&err, "dkim retire");
	maillog_info("dkim domain=%s selector=%s status=retired", domain,
		     selector);
	printf("retired key %s of %s: remove its record from DNS\n", selector,
	       domain);
	return CLI_OK;
}

int
cmd_dkim(struct cli *cli, int argc, char **argv)
{
	const char *sub;
	int rc = cli_parse(cli, NULL, 0, 3, &argc, &argv);

	if (rc != 0)
		return rc;
	sub = argc > 1 ? argv[1] : NULL;
	if (!((sub == NULL) || (strcmp(sub, "list") == 0 && argc == 2) ||
	      (strcmp(sub, "rotate") == 0 && argc == 3) ||
	      (strcmp(sub, "retire") == 0 && argc == 4))) {
		cli_error("usage: soarlist %s %s", cli->cmd->name,
			  cli->cmd->args);
		return CLI_USAGE;
	}
	if ((rc = cli_open(cli)) != 0)
		return rc;
	if (sub == NULL)
		return ensure(cli);
	if (strcmp(sub, "list") == 0)
		return list_keys(cli);
	if (strcmp(sub, "rotate") == 0)
		return rotate(cli, argv[2]);
	return retire(cli, argv[2], argv[3]);
}
