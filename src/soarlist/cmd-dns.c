/* cmd-dns.c - soarlist dns [CLUB] [--json]: the DNS records every domain
 * of the club (of every club) needs, as zone file lines to paste into the
 * domain's zone, or as JSON (dns-records.h says which). Exit 0; 1 when the
 * database failed; 64 on a usage error or an unknown club; 75 when the
 * database is busy; 78 when mail_host is not set. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "soarlist/dns-records.h"

static gboolean opt_json;

static const GOptionEntry entries[] = {
	{ "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL },
	{ NULL },
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
	if (opt_json)
		print_json(records);
	else
		print_zone(records);
	return CLI_OK;
}
