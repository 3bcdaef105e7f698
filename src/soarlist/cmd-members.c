/* cmd-members.c - soarlist members LIST@DOMAIN [--json]. Exit 0; 1 when
 * there is no such list or the database failed; 64 on a usage error; 75
 * when the database is busy. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli.h"
#include "soarlist/catalog.h"

static gboolean opt_json;

static const GOptionEntry entries[] = {
	{ "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL },
	G_OPTION_ENTRY_NULL,
};

int
cmd_members(struct cli *cli, int argc, char **argv)
{
	struct list_ref ref = { 0 };
	GError *err = NULL;
	GPtrArray *members;
	int rc = cli_parse(cli, entries, 1, 1, &argc, &argv);

	if (rc != 0 || (rc = cli_open(cli)) != 0 ||
	    (rc = cli_resolve(cli, argv[1], &ref)) != 0)
		return rc;
	members = catalog_members(cli->db, ref.id, &err);
	if (members == NULL) {
		list_ref_clear(&ref);
		return cli_fail(&err, NULL);
	}
	if (opt_json) {
		cJSON *arr = cJSON_CreateArray();
		char *out;
		for (guint i = 0; i < members->len; i++)
			cJSON_AddItemToArray(
				arr, cJSON_CreateString(
					     g_ptr_array_index(members, i)));
		out = cJSON_Print(arr);
		printf("%s\n", out);
		cJSON_free(out);
		cJSON_Delete(arr);
	} else {
		for (guint i = 0; i < members->len; i++)
			printf("%s\n", (char *)g_ptr_array_index(members, i));
	}
	g_ptr_array_unref(members);
	list_ref_clear(&ref);
	return CLI_OK;
}
