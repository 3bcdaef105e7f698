/* doctor-lists.c - doctor's check of the list names M2S sends.
 *
 * A club's webmaster names lists at M2S with free text; a name that cannot
 * be a mailbox local part ("Board Members") gets no address, so posts to
 * it cannot work however the mail server is wired. sync stores such names
 * (unusable_list) at each successful sync; this check reads them back so
 * that the administrator sees them with everything else that is wrong.
 */
#include "soarlist/doctor.h"

#include <sqlite3.h>

#include "soarlist/status.h"

static void
add(GPtrArray *out, gboolean ok, char *what, char *fix)
{
	struct doctor_result *r = g_new0(struct doctor_result, 1);

	r->ok = ok;
	r->what = what;
	r->fix = fix;
	g_ptr_array_add(out, r);
}

/* The unusable lists of CLUB as failed results; how many, or -1 when the
 * database could not tell (a failed result says so). */
static int
check_club(sqlite3 *db, const struct club_config *club, GPtrArray *out)
{
	GError *err = NULL;
	GPtrArray *names = status_unusable_lists(db, club->slug, &err);
	int n;

	if (names == NULL) {
		add(out, FALSE,
		    g_strdup_printf("list names of club %s: %s", club->slug,
				    err->message),
		    g_strdup("run 'soarlist sync' (it upgrades the database), "
			     "then doctor again"));
		g_error_free(err);
		return -1;
	}
	for (guint i = 0; i < names->len; i++) {
		const struct api_unusable *u = g_ptr_array_index(names, i);

		char *fix = api_unusable_fix(u);

		add(out, FALSE,
		    g_strdup_printf("club %s: M2S list \"%s\" has no "
				    "address (%s), its posts cannot "
				    "be delivered",
				    club->slug, u->name, u->why),
		    g_strdup_printf("%s, then soarlist sync", fix));
		g_free(fix);
	}
	n = (int)names->len;
	g_ptr_array_unref(names);
	return n;
}

void
doctor_check_list_names(struct sqlite3 *db, const struct config *cfg,
			GPtrArray *out)
{
	guint bad = 0;
	gboolean failed = FALSE;

	if (db == NULL)
		return;
	for (guint i = 0; i < cfg->clubs->len; i++) {
		int n = check_club(db, g_ptr_array_index(cfg->clubs, i), out);

		if (n < 0)
			failed = TRUE;
		else
			bad += (guint)n;
	}
	if (bad == 0 && !failed)
		add(out, TRUE,
		    g_strdup_printf("list names: every list M2S names "
				    "has an address (%u clubs)",
				    cfg->clubs->len),
		    NULL);
}
