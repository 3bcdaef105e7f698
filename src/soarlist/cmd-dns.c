/* cmd-dns.c - soarlist dns [CLUB] [--json] [--check]: the DNS records
 * every domain of the club (of every club) needs, as zone file lines to
 * paste into the domain's zone, or as JSON (dns-records.h says which);
 * with --check, each looked up and judged ok, missing or different
 * (dns-check.h). Exit 0; 1 when a record is not ok or the database
 * failed; 64 on a usage error or an unknown club; 75 when the database is
 * busy; 78 when mail_host is not set. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include <arpa/nameser.h>

#include "soarlist/dns-check.h"
#include "soarlist/dns-records.h"

static gboolean opt_json, opt_check;

static const GOptionEntry entries[] = {
	{ "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL },
	{ "check", 0, 0, G_OPTION_ARG_NONE, &opt_check,
	  "Look each record up and say whether it is right", NULL },
	G_OPTION_ENTRY_NULL,
};

static void
print_zone(GPtrArray *records)
{
	const char *domain = NULL;

	for (guint i = 0; i < records->len; i++) {
		const struct dns_record *r = records->pdata[i];
		g_autofree char *owner = g_strconcat(r->name, ".", NULL);
		g_autofree char *value = NULL;

		if (g_strcmp0(domain, r->domain) != 0) {
			printf("%s; club %s, domain %s\n", domain ? "\n" : "",
			       r->club, r->domain);
			domain = r->domain;
		}
		if (strcmp(r->purpose, "dmarc-report") == 0)
			printf("; in the zone of %s, so that it accepts the "
			       "DMARC reports of %s:\n",
			       r->name + strlen(r->domain) +
				       strlen("._report._dmarc."),
			       r->domain);
		if (strcmp(r->type, "MX") == 0)
			value = g_strdup_printf("%u %s.", r->priority,
						r->value);
		else
			value = dns_txt_quote(r->value);
		printf("%-40s IN %-3s %s\n", owner, r->type, value);
	}
}

static void
print_json(GPtrArray *records)
{
	cJSON *a = cJSON_CreateArray();
	char *text;

	for (guint i = 0; i < records->len; i++) {
		const struct dns_record *r = records->pdata[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "club", r->club);
		cJSON_AddStringToObject(o, "domain", r->domain);
		cJSON_AddStringToObject(o, "purpose", r->purpose);
		cJSON_AddStringToObject(o, "name", r->name);
		cJSON_AddStringToObject(o, "type", r->type);
		if (strcmp(r->type, "MX") == 0)
			cJSON_AddNumberToObject(o, "priority", r->priority);
		cJSON_AddStringToObject(o, "value", r->value);
		cJSON_AddItemToArray(a, o);
	}
	text = cJSON_Print(a);
	printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(a);
}

/* Look every record up: one line each, "ok", "missing" (with what to
 * publish), "different" (with both) or "failed"; CLI_FAIL unless all are
 * ok. */
static int
check(GPtrArray *records)
{
	int rc = CLI_OK;

	for (guint i = 0; i < records->len; i++) {
		const struct dns_record *r = records->pdata[i];
		GError *err = NULL;
		g_autoptr(GPtrArray) found = dns_lookup(
			r->name,
			strcmp(r->type, "MX") == 0 ? ns_t_mx : ns_t_txt, &err);
		enum dns_verdict v = found ? dns_judge(r, found) : DNS_FAILED;
		g_autofree char *have = NULL;

		printf("%-9s %s %s %s", dns_verdict_name(v), r->purpose,
		       r->type, r->name);
		if (v == DNS_FAILED) {
			printf(": %s\n", err->message);
			g_error_free(err);
		} else if (v == DNS_MISSING) {
			printf(": publish %s\n", r->value);
		} else if (v == DNS_DIFFERENT) {
			g_ptr_array_add(found, NULL); /* for g_strjoinv() */
			have = g_strjoinv(" | ", (char **)found->pdata);
			printf(": want %s; found %s\n", r->value, have);
		} else {
			printf("\n");
		}
		if (v != DNS_OK)
			rc = CLI_FAIL;
	}
	return rc;
}

int
cmd_dns(struct cli *cli, int argc, char **argv)
{
	const struct club_config *club = NULL;
	g_autoptr(GPtrArray) records = NULL;
	GError *err = NULL;
	int rc = cli_parse(cli, entries, 0, 1, &argc, &argv);

	if (rc != 0 || (rc = cli_open(cli)) != 0)
		return rc;
	if (cli->cfg->mail_host == NULL) {
		cli_error("dns: mail_host (the host name of this mail "
			  "server, which the MX records name) is not set in "
			  "the [soarlist] section of %s",
			  cli->cfg->path);
		return CLI_CONFIG;
	}
	for (guint i = 0; argc == 2 && i < cli->cfg->clubs->len; i++) {
		const struct club_config *c = cli->cfg->clubs->pdata[i];

		if (strcmp(c->slug, argv[1]) == 0)
			club = c;
	}
	if (argc == 2 && club == NULL) {
		cli_error("dns: no club %s in %s", argv[1], cli->cfg->path);
		return CLI_USAGE;
	}
	records = dns_records(cli->db, cli->cfg, club, &err);
	if (records == NULL)
		return cli_fail(&err, "dns");
	if (opt_check)
		return check(records);
	if (opt_json)
		print_json(records);
	else
		print_zone(records);
	return CLI_OK;
}
