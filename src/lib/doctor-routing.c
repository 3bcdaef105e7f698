/* doctor-routing.c - doctor's check of the addresses soarlist sends its
 * own mail to (admin, the owners of clubs and lists). A club domain is a
 * relay domain whose every address Postfix hands to soarlist: an owner
 * or admin address there that is not a list address has no mailbox, so
 * notices sent to it come back to soarlist and are refused as no such list.
 */
#include <string.h>

#include "doctor-internal.h"
#include "soarlist/catalog.h"
#include "soarlist/recipient.h"

/* TRUE unless ADDRESS is at a club domain and is not a list there. */
static gboolean
deliverable(struct doctor *d, const char *address)
{
	const char *at = strrchr(address, '@');
	struct recipient r;
	struct list_ref ref;
	int found;

	if (at == NULL || config_club_by_domain(d->cfg, at + 1) == NULL)
		return TRUE;
	if (recipient_parse(address, &r) < 0)
		return FALSE;
	found = r.kind == RECIPIENT_POST
			? catalog_resolve(d->db, d->cfg, r.list, r.domain, &ref,
					  NULL)
			: 0;
	if (found == 1)
		list_ref_clear(&ref);
	recipient_clear(&r);
	return found != 0; /* -1: a club never synced; the sync check says */
}

static guint
check_addresses(struct doctor *d, const char *where, const char *key,
		char *const *addresses)
{
	guint bad = 0;

	for (char *const *a = addresses; a && *a; a++) {
		if (deliverable(d, *a))
			continue;
		doctor_add(
			d, FALSE,
			g_strdup_printf(
				"%s %s = %s: a club domain "
				"where no mailbox takes it (it is no list there): mail "
				"to it loops back into soarlist",
				where, key, *a),
			g_strdup_printf("in %s %s, use an address outside the "
					"club domains (or a list address)",
					where, key));
		bad++;
	}
	return bad;
}

/* admin, and the owners of every club and every [list] group. */
void
doctor_check_routing(struct doctor *d)
{
	char *const admin[] = { d->cfg->admin, NULL };
	GHashTableIter it;
	gpointer key, value;
	guint bad;

	if (d->db == NULL)
		return; /* the database check says why */
	bad = check_addresses(d, "[soarlist]", "admin", admin);
	for (guint i = 0; i < d->cfg->clubs->len; i++) {
		const struct club_config *c = d->cfg->clubs->pdata[i];
		char *where = g_strdup_printf("[club %s]", c->slug);
		bad += check_addresses(d, where, "owners", c->owners);
		g_free(where);
	}
	g_hash_table_iter_init(&it, d->cfg->lists);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		const struct list_settings *s = value;
		char *where = g_strdup_printf("[list %s]", (const char *)key);
		bad += check_addresses(d, where, "owners", s->owners);
		g_free(where);
	}
	if (bad == 0)
		doctor_add(d, TRUE,
			   g_strdup("admin and owner addresses lead "
				    "out of the club domains or to "
				    "lists"),
			   NULL);
}
