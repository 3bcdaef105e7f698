/* doctor.h - checks of a soarlist installation: database, permissions of
 * the pipe user, sendmail, the Postfix transport, the lookup tables and
 * the age of each club's last sync. One result per check.
 */
#ifndef SOARLIST_DOCTOR_H
#define SOARLIST_DOCTOR_H

#include <glib.h>

#include "soarlist/config.h"

struct doctor_result {
	gboolean ok;
	char *what; /* what was checked, with the essentials found */
	char *fix;  /* for a failure: what to do, else NULL */
};

/* Run every check against CFG. PIPE_USER overrides the user found in
 * master.cf (may be NULL). Returns a new array of struct doctor_result *
 * (free with g_ptr_array_unref); it never fails as a whole. */
GPtrArray *doctor_run(const struct config *cfg, const char *pipe_user);

/* doctor_check_list_names (doctor-lists.c): the lists each club's M2S
 * names that cannot have an address here ("Board Members"), as the club's
 * last successful sync stored them: one failed result per such list, with
 * the new name to give it at M2S, or one passed result when there are
 * none. Appends struct doctor_result * (what and fix from g_malloc) to
 * OUT. DB (a struct sqlite3 *) may be NULL: nothing is added then, the
 * database check reports that. */
struct sqlite3;
void doctor_check_list_names(struct sqlite3 *db, const struct config *cfg,
			     GPtrArray *out);

#endif
