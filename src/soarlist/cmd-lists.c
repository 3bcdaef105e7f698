/* cmd-lists.c - soarlist lists [--json]: every list with its member count,
 * effective posting policy, nonmember_action and require_auth (--json
 * adds unauthenticated_action and verp). Exit 0; 1 when the database failed; 64
 * on a usage error; 75 when the database is busy. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli.h"
#include "soarlist/catalog.h"
#include "soarlist/policy.h"

static gboolean opt_json;

static const GOptionEntry entries[] = {
	{ "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL },
	G_OPTION_ENTRY_NULL,
};

static enum posting_policy
effective(const struct list_settings *s, gboolean bypass)
{
	struct list_ref ref = { .settings = *s, .bypass = bypass };

	return policy_effective(&ref);
}

static cJSON *
to_json(const struct catalog_list *l, const char *address,
	const struct list_settings *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "club", l->club_slug);
	cJSON_AddStringToObject(o, "list", l->name);
	cJSON_AddStringToObject(o, "address", address);
	if (l->description != NULL)
		cJSON_AddStringToObject(o, "description", l->description);
	cJSON_AddNumberToObject(o, "members", l->members);
	cJSON_AddBoolToObject(o, "bypass", l->bypass);
	cJSON_AddStringToObject(o, "posting",
				posting_policy_name(effective(s, l->bypass)));
	cJSON_AddStringToObject(o, "nonmember_action",
				nonmember_action_name(s->nonmember_action));
	cJSON_AddStringToObject(o, "require_auth",
				require_auth_name(s->require_auth));
	cJSON_AddStringToObject(o, "unauthenticated_action",
				unauth_action_name(s->unauthenticated_action));
	cJSON_AddStringToObject(o, "verp", verp_mode_name(s->verp));
	return o;
}

int
cmd_lists(struct cli *cli, int argc, char **argv)
{
	GError *err = NULL;
	GPtrArray *lists;
	cJSON *arr;
	int rc = cli_parse(cli, entries, 0, 0, &argc, &argv);

	if (rc != 0 || (rc = cli_open(cli)) != 0)
		return rc;
	lists = catalog_all_lists(cli->db, &err);
	if (lists == NULL)
		return cli_fail(&err, NULL);
	arr = cJSON_CreateArray();
	if (!opt_json)
		printf("%-40s %7s  %-9s  %-9s  %-5s  %s\n", "LIST", "MEMBERS",
		       "POSTING", "NONMEMBER", "AUTH", "CLUB");
	for (guint i = 0; i < lists->len; i++) {
		const struct catalog_list *l = g_ptr_array_index(lists, i);
		char *addr = cli_list_address(cli->cfg, l->club_slug, l->name);
		struct list_settings s;

		if (addr == NULL)
			continue; /* club removed from the config */
		config_list_settings(cli->cfg, l->club_slug, l->name, &s);
		if (opt_json)
			cJSON_AddItemToArray(arr, to_json(l, addr, &s));
		else
			printf("%-40s %7u  %-9s  %-9s  %-5s  %s\n", addr,
			       l->members,
			       posting_policy_name(effective(&s, l->bypass)),
			       nonmember_action_name(s.nonmember_action),
			       require_auth_name(s.require_auth), l->club_slug);
		g_free(addr);
	}
	if (opt_json) {
		char *out = cJSON_Print(arr);
		printf("%s\n", out);
		cJSON_free(out);
	}
	cJSON_Delete(arr);
	g_ptr_array_unref(lists);
	return CLI_OK;
}
