/* doctor.c - `soarlist doctor`: is this installation able to deliver?
 *
 * A table of checks, one small file per group (doctor-data.c: database,
 * tables, syncs; doctor-postfix.c: master.cf and main.cf through
 * postconf(1), Postfix running; doctor-access.c: what the pipe and policy
 * users may read, write and execute, and who else may read; doctor-
 * routing.c: owner and admin addresses; doctor-dkim.c: OpenDKIM's
 * SigningTable; doctor-auth.c: the verifier behind require_auth). Each
 * check says what it found and, when it fails, what to do about it, in the
 * words a volunteer administrator needs. Postfix is
 * asked through postconf(1) (with postfix_config_dir when set), never by
 * parsing its files ourselves. Nothing is created or changed.
 */
#include "soarlist/doctor.h"

#include <string.h>

#include "doctor-internal.h"
#include "soarlist/db.h"
#include "soarlist/proc.h"

/* doctor-lists.c: list names M2S allows but mail cannot use */
static void
check_list_names(struct doctor *d)
{
	doctor_check_list_names(d->db, d->cfg, d->out);
}

/* In this order: what later checks rely on (the database, the services
 * found in master.cf) comes first. */
static void (*const checks[])(struct doctor *) = {
	doctor_check_database,    doctor_check_sendmail, doctor_check_running,
	doctor_check_transport,   doctor_check_policy,   doctor_check_maincf,
	doctor_check_programs,    doctor_check_access,   doctor_check_tables,
	doctor_check_table_owner, doctor_check_private,  doctor_check_routing,
	doctor_check_dkim,        doctor_check_auth,     doctor_check_relay,
	check_list_names,         doctor_check_syncs,    doctor_check_removed,
};

static void
result_free(gpointer p)
{
	struct doctor_result *r = p;

	g_free(r->what);
	g_free(r->fix);
	g_free(r);
}

void
doctor_add(struct doctor *d, gboolean ok, char *what, char *fix)
{
	struct doctor_result *r = g_new0(struct doctor_result, 1);

	r->ok = ok;
	r->what = what;
	r->fix = ok ? (g_free(fix), NULL) : fix;
	g_ptr_array_add(d->out, r);
}

/* OUT without postconf's warnings (proc_run merges stderr into it). */
static char *
without_warnings(char *out)
{
	char **lines = g_strsplit(out, "\n", -1);
	GString *kept = g_string_new(NULL);

	for (char **l = lines; *l != NULL; l++) {
		if (strstr(*l, "postconf: warning: ") != NULL)
			continue;
		if (kept->len > 0)
			g_string_append_c(kept, '\n');
		g_string_append(kept, *l);
	}
	g_strfreev(lines);
	g_free(out);
	return g_strstrip(g_string_free(kept, FALSE));
}

char *
doctor_postconf(const struct doctor *d, const char *a1, const char *a2,
		GError **error)
{
	char *argv[6], *out = NULL;
	int n = 0;

	argv[n++] = d->cfg->postconf;
	if (d->cfg->postfix_config_dir != NULL) {
		argv[n++] = "-c";
		argv[n++] = d->cfg->postfix_config_dir;
	}
	argv[n++] = (char *)a1;
	argv[n++] = (char *)a2;
	argv[n] = NULL;
	if (proc_run(argv, &out, error) < 0) {
		g_free(out);
		return NULL;
	}
	return without_warnings(out);
}

GPtrArray *
doctor_run(const struct config *cfg, const char *pipe_user)
{
	struct doctor d = { .cfg = cfg, .user_arg = pipe_user };

	d.out = g_ptr_array_new_with_free_func(result_free);
	doctor_add(&d, TRUE, g_strdup_printf("config %s parses", cfg->path),
		   NULL);
	d.db = db_open(cfg->database, DB_EXISTING, cfg->busy_timeout_ms, NULL);
	doctor_services_load(&d);
	for (gsize i = 0; i < G_N_ELEMENTS(checks); i++)
		checks[i](&d);
	doctor_services_free(&d);
	db_close(&d.db);
	return d.out;
}
