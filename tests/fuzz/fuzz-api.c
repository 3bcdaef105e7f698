/* fuzz-api.c - libFuzzer target: an M2S answer (GET /api/email-lists/)
 * as the network can bring it. api_parse() must never crash, and what it
 * accepts must be valid: list names that work as local parts, member and
 * whitelist addresses that pass address_is_valid(), no duplicates, lists
 * sorted by name, the lists it keeps aside and the dropped addresses
 * reported on printable lines. What it accepts is then stored as `soarlist
 * sync --force` stores it (sync_store, into the scratch world's
 * database, over the world's own answer stored again each time), and
 * each list stored must resolve with its members.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "soarlist/address.h"
#include "soarlist/api.h"
#include "soarlist/catalog.h"
#include "soarlist/recipient.h"
#include "soarlist/sync.h"

static void
fail(const char *what, const char *value)
{
	fprintf(stderr, "api: %s: \"%s\"\n", what, value ? value : "(null)");
	abort();
}

static void
check_printable(const char *what, const char *s)
{
	if (s == NULL || !g_utf8_validate(s, -1, NULL))
		fail(what, s);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			fail(what, s);
}

static void
check_addresses(const char *what, GPtrArray *a)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint k = 0; k < a->len; k++) {
		const char *m = g_ptr_array_index(a, k);
		if (!address_is_valid(m))
			fail(what, m);
		if (!g_hash_table_add(seen, (gpointer)m))
			fail("a duplicate address", m);
	}
}

static void
check(const struct api_data *d)
{
	for (guint i = 0; i < d->lists->len; i++) {
		struct api_list *l = g_ptr_array_index(d->lists, i);
		if (!recipient_list_name_is_valid(l->name))
			fail("list name", l->name);
		if (i > 0 && strcmp(((struct api_list *)g_ptr_array_index(
					     d->lists, i - 1))
					    ->name,
				    l->name) >= 0)
			fail("lists not sorted or repeated", l->name);
		check_addresses("member", l->members);
	}
	check_addresses("whitelisted", d->whitelist);
	for (guint i = 0; i < d->unusable->len; i++) {
		struct api_unusable *u = g_ptr_array_index(d->unusable, i);
		g_autofree char *fix = api_unusable_fix(u);

		check_printable("unusable list name", u->name);
		check_printable("why unusable", u->why);
		if (*u->why == '\0')
			fail("unusable without a reason", u->name);
		if (u->rename != NULL &&
		    !recipient_list_name_is_valid(u->rename))
			fail("rename", u->rename);
		check_printable("fix", fix);
	}
	for (guint i = 0; d->warnings != NULL && i < d->warnings->len; i++)
		check_printable("warning", g_ptr_array_index(d->warnings, i));
	(void)api_data_member_count(d);
}

/* What sync stores, read back: every list resolves, with its members. */
static void
store(const struct api_data *d)
{
	const struct fuzz_world *w = fuzz_world();
	struct sync_options opts = { .force = TRUE };
	struct sync_result r = { .club = config_club_by_slug(w->cfg, "ssc") };
	GError *err = NULL;

	/* from the same stored data each time: the changes it computes
	 * depend on this input alone */
	fuzz_world_restore();
	if (sync_store(w->db, w->cfg, d, NULL, &opts, &r, &err) < 0)
		fail("sync_store", err->message);
	for (guint i = 0; i < d->lists->len; i++) {
		struct api_list *l = g_ptr_array_index(d->lists, i);
		g_auto(ListRef) ref = { 0 };

		if (catalog_resolve(w->db, w->cfg, l->name, FUZZ_DOMAIN, &ref,
				    &err) != 1)
			fail("a stored list does not resolve", l->name);
		for (guint k = 0; k < l->members->len; k++)
			if (catalog_is_member(w->db, ref.id,
					      g_ptr_array_index(l->members, k),
					      &err) != 1)
				fail("a stored member is not one",
				     g_ptr_array_index(l->members, k));
	}
	g_free(r.error);
	if (r.warnings != NULL)
		g_ptr_array_unref(r.warnings);
	if (r.unusable != NULL)
		g_ptr_array_unref(r.unusable);
	if (r.diff != NULL)
		g_ptr_array_unref(r.diff);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(ApiData) d = api_parse((const char *)data, size, NULL);

	if (d != NULL) {
		check(d);
		store(d);
	}
	return 0;
}
