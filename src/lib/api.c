/* api.c - parsing the M2S /api/email-lists/ answer with cJSON.
 *
 * Accepted: {"lists": {NAME: [addr...] | {"emails": [addr...], ...}},
 *            "whitelist": [addr...], "bypass_lists": [NAME...]}.
 * "lists" must be an object (the shrink guard of sync-store.c decides
 * whether an empty one may replace lists stored before) and "whitelist" an
 * array (an answer without it would empty the club); bypass_lists may be
 * absent.
 * Invalid addresses are dropped and reported, never stored. A list whose
 * name cannot be a mailbox local part (M2S lets the club's webmaster name
 * a list "Board Members") is kept aside by name with the reason, for sync,
 * status and doctor to report until M2S renames it (api-names.c).
 */
#include "soarlist/api.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "soarlist/address.h"
#include "soarlist/printable.h"
#include "soarlist/recipient.h"

#define API_ERROR (g_quark_from_static_string("soarlist-api"))

static void
api_list_free(gpointer p)
{
	struct api_list *l = p;

	g_free(l->name);
	g_free(l->description);
	if (l->members != NULL)
		g_ptr_array_unref(l->members);
	g_free(l);
}

void
api_data_free(struct api_data **datap)
{
	struct api_data *d = *datap;

	if (d == NULL)
		return;
	g_clear_pointer(&d->lists, g_ptr_array_unref);
	g_clear_pointer(&d->whitelist, g_ptr_array_unref);
	g_clear_pointer(&d->unusable, g_ptr_array_unref);
	g_clear_pointer(&d->warnings, g_ptr_array_unref);
	g_free(d);
	*datap = NULL;
}

/* A printable, bounded rendering of untrusted text for a warning line. */
static char *
printable(const char *s)
{
	return api_printable(s, 80);
}

char *
api_printable(const char *s, gsize max)
{
	char *out = printable_escape(s); /* the one escaping: printable.h */

	if (strlen(out) > max) /* cut on a character boundary */
		*g_utf8_find_prev_char(out, out + max + 1) = '\0';
	return out;
}

static void drop(struct api_data *d, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
drop(struct api_data *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(d->warnings, g_strdup_vprintf(fmt, ap));
	va_end(ap);
	d->dropped++;
}

/* Validate the strings of ARRAY into a deduplicated address array.
 * WHERE names the place for warnings. Returns FALSE when ARRAY is present
 * but not an array. */
static gboolean
addresses(struct api_data *d, const cJSON *array, const char *where,
	  GPtrArray **out_r)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	const cJSON *item;

	*out_r = out;
	if (array == NULL || cJSON_IsNull(array)) {
		g_hash_table_unref(seen);
		return TRUE;
	}
	if (!cJSON_IsArray(array)) {
		g_hash_table_unref(seen);
		return FALSE;
	}
	cJSON_ArrayForEach(item, array)
	{
		const char *why = NULL;
		char *addr, *key;

		if (!cJSON_IsString(item)) {
			drop(d, "%s: dropped a value that is not a string",
			     where);
			continue;
		}
		addr = address_normalize(item->valuestring, &why);
		if (addr == NULL) {
			char *p = printable(item->valuestring);
			drop(d, "%s: dropped invalid address \"%s\": %s", where,
			     p, why);
			g_free(p);
			continue;
		}
		key = g_ascii_strdown(addr, -1);
		if (g_hash_table_contains(seen, key)) {
			g_free(key);
			g_free(addr);
			continue;
		}
		g_hash_table_add(seen, key);
		g_ptr_array_add(out, addr);
	}
	g_hash_table_unref(seen);
	return TRUE;
}

static int
cmp_list(gconstpointer a, gconstpointer b)
{
	const struct api_list *x = *(struct api_list *const *)a;
	const struct api_list *y = *(struct api_list *const *)b;

	return strcmp(x->name, y->name);
}

/* The member array of list ITEM (named NAME): ITEM itself, or its
 * "emails" in the older object form, whose "count" must agree. Sets
 * L's description. Returns NULL with *error when ITEM has neither shape. */
static const cJSON *
list_emails(const cJSON *item, const char *name, struct api_list *l,
	    GError **error)
{
	const cJSON *emails = item, *desc, *count;

	if (cJSON_IsObject(item)) {
		desc = cJSON_GetObjectItemCaseSensitive(item, "description");
		count = cJSON_GetObjectItemCaseSensitive(item, "count");
		emails = cJSON_GetObjectItemCaseSensitive(item, "emails");
		if (cJSON_IsString(desc))
			l->description = g_strdup(desc->valuestring);
		/* a count that disagrees means a truncated answer */
		if (cJSON_IsNumber(count) && cJSON_IsArray(emails) &&
		    count->valuedouble != cJSON_GetArraySize(emails)) {
			g_set_error(error, API_ERROR, 0,
				    "\"lists\".\"%s\" says "
				    "count %g but has %d addresses",
				    name, count->valuedouble,
				    cJSON_GetArraySize(emails));
			return NULL;
		}
	}
	if (!cJSON_IsArray(emails)) {
		g_set_error(error, API_ERROR, 0,
			    "\"lists\".\"%s\" is neither an "
			    "array nor an object with \"emails\"",
			    name);
		return NULL;
	}
	return emails;
}

/* Parse one entry of "lists". Returns TRUE (the list added to D, or
 * dropped for an invalid name) or FALSE with *error. */
static gboolean
parse_list(struct api_data *d, const cJSON *item, const cJSON *bypass,
	   GError **error)
{
	char *name = g_ascii_strdown(item->string, -1);
	const cJSON *emails;
	struct api_list *l;
	char *where;

	if (!recipient_list_name_is_valid(name)) {
		g_ptr_array_add(d->unusable, api_name_unusable(item->string));
		g_free(name);
		return TRUE;
	}
	l = g_new0(struct api_list, 1);
	l->name = name;
	emails = list_emails(item, name, l, error);
	if (emails == NULL) {
		api_list_free(l);
		return FALSE;
	}
	where = g_strdup_printf("list %s", name);
	addresses(d, emails, where, &l->members);
	g_free(where);
	for (const cJSON *b = bypass ? bypass->child : NULL; b; b = b->next)
		if (cJSON_IsString(b) &&
		    g_ascii_strcasecmp(b->valuestring, name) == 0)
			l->bypass = TRUE;
	g_ptr_array_add(d->lists, l);
	return TRUE;
}

static gboolean
parse_lists(struct api_data *d, const cJSON *lists, const cJSON *bypass,
	    GError **error)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, lists) if (!parse_list(d, item, bypass,
							error)) return FALSE;
	g_ptr_array_sort(d->lists, cmp_list);
	for (guint i = 1; i < d->lists->len; i++) {
		if (cmp_list(&d->lists->pdata[i - 1], &d->lists->pdata[i]) ==
		    0) {
			g_set_error(
				error, API_ERROR, 0,
				"list \"%s\" appears "
				"twice",
				((struct api_list *)d->lists->pdata[i])->name);
			return FALSE;
		}
	}
	return TRUE;
}

struct api_data *
api_parse(const char *json, gsize len, GError **error)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	struct api_data *d = g_new0(struct api_data, 1);
	const cJSON *lists, *bypass;

	d->lists = g_ptr_array_new_with_free_func(api_list_free);
	d->unusable = g_ptr_array_new_with_free_func(api_unusable_free);
	d->warnings = g_ptr_array_new_with_free_func(g_free);
	if (root == NULL || !cJSON_IsObject(root)) {
		g_set_error(error, API_ERROR, 0, "%s",
			    root == NULL ? "the answer is not valid JSON"
					 : "the answer is not a JSON object");
		goto fail;
	}
	lists = cJSON_GetObjectItemCaseSensitive(root, "lists");
	if (!cJSON_IsObject(lists)) {
		g_set_error(error, API_ERROR, 0,
			    "the answer has no \"lists\" object");
		goto fail;
	}
	if (!cJSON_IsArray(
		    cJSON_GetObjectItemCaseSensitive(root, "whitelist"))) {
		g_set_error(error, API_ERROR, 0,
			    "the answer has no \"whitelist\" array");
		goto fail;
	}
	bypass = cJSON_GetObjectItemCaseSensitive(root, "bypass_lists");
	if (bypass != NULL && !cJSON_IsArray(bypass) && !cJSON_IsNull(bypass)) {
		g_set_error(error, API_ERROR, 0,
			    "\"bypass_lists\" is not an array");
		goto fail;
	}
	if (!parse_lists(d, lists, bypass, error))
		goto fail;
	if (!addresses(d, cJSON_GetObjectItemCaseSensitive(root, "whitelist"),
		       "whitelist", &d->whitelist)) {
		g_set_error(error, API_ERROR, 0,
			    "\"whitelist\" is not an array");
		goto fail;
	}
	cJSON_Delete(root);
	return d;
fail:
	cJSON_Delete(root);
	api_data_free(&d);
	return NULL;
}

guint
api_data_member_count(const struct api_data *data)
{
	/* case-insensitive, like the database's COLLATE NOCASE */
	GHashTable *all = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						NULL);
	guint n;

	for (guint i = 0; i < data->lists->len; i++) {
		const struct api_list *l = g_ptr_array_index(data->lists, i);
		for (guint k = 0; k < l->members->len; k++)
			g_hash_table_add(
				all,
				g_ascii_strdown(
					g_ptr_array_index(l->members, k), -1));
	}
	n = g_hash_table_size(all);
	g_hash_table_unref(all);
	return n;
}
