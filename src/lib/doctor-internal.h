/* doctor-internal.h - what the files of `soarlist doctor` share: the state
 * of one run, the master.cf services found through postconf(1), and the
 * helpers every group of checks uses (results, postconf, access by mode
 * bits). Private to src/lib/doctor*.c.
 */
#ifndef SOARLIST_DOCTOR_INTERNAL_H
#define SOARLIST_DOCTOR_INTERNAL_H

#include <glib.h>
#include <sqlite3.h>
#include <sys/types.h>

#include "soarlist/config.h"
#include "soarlist/doctor.h"

/* One master.cf entry, as `postconf -M` prints it. */
struct doctor_service {
	char *name;    /* "soarlist" */
	char *type;    /* "unix" */
	char *command; /* "pipe", "spawn", ... */
	char *user;    /* user= of pipe(8)/spawn(8), without :group; NULL */
	char **argv;   /* argv= and every word after it; NULL if none */
};

/* A user whose access doctor judges by owner, groups and mode bits. */
struct doctor_user {
	char *name;
	uid_t uid;
	gid_t *groups; /* primary and supplementary */
	int ngroups;
};

struct doctor {
	const struct config *cfg;
	sqlite3 *db;         /* NULL when it does not open */
	GPtrArray *out;      /* struct doctor_result * */
	GPtrArray *services; /* struct doctor_service *; NULL: postconf -M
			      * failed (services_error says why) */
	char *services_error;
	GPtrArray *policy_uses; /* "PARAM NAME PERMIT": check_policy_service
				 * unix:private/NAME in restriction list PARAM
				 * (main.cf, or SERVICE/TYPE/PARAM in
				 * master.cf), after PERMIT, the first permit*
				 * before it in PARAM, or "-" */
	const char *user_arg;   /* -u USER, or NULL */
	/* the services running soarlist (borrowed from services, or NULL) */
	const struct doctor_service *deliver; /* "soarlist" unix pipe */
	const struct doctor_service *policy;  /* a spawn of soarlist policy */
	struct doctor_user *pipe_user;        /* NULL: unknown */
	struct doctor_user *policy_user;      /* NULL: unknown */
};

/* Add one result. WHAT and FIX (for a failure; freed when OK) are taken. */
void doctor_add(struct doctor *d, gboolean ok, char *what, char *fix);

/* postconf [-c DIR] A1 [A2]: its output, trimmed, or NULL with *error. */
char *doctor_postconf(const struct doctor *d, const char *a1, const char *a2,
		      GError **error);

/* doctor-master.c: read master.cf through postconf -M into d->services,
 * the restriction lists into d->policy_uses, and find the services running
 * soarlist-deliver and soarlist policy and their users. */
void doctor_services_load(struct doctor *d);
void doctor_services_free(struct doctor *d);

/* TRUE when SVC runs soarlist-deliver (a pipe) or soarlist policy. */
gboolean doctor_service_is_deliver(const struct doctor_service *svc);
gboolean doctor_service_is_policy(const struct doctor_service *svc);

/* The master.cf service NAME of type unix (borrowed), or NULL. */
const struct doctor_service *doctor_service_find(const struct doctor *d,
						 const char *name);

/* TRUE when USER (may be NULL) is root or Postfix's mail_owner, whom
 * pipe(8) and spawn(8) refuse to run a command as: the service then
 * defers every delivery. */
gboolean doctor_user_privileged(const struct doctor *d, const char *user);

/* TRUE when a check_policy_service names the service NAME. */
gboolean doctor_policy_used(const struct doctor *d, const char *name);

/* doctor-access.c: the user NAME (a new doctor_user, free with
 * doctor_user_free), or NULL when there is no such user. */
struct doctor_user *doctor_user_new(const char *name);
void doctor_user_free(struct doctor_user **u);

/* May U reach PATH (search permission on every directory on the way) and
 * have the permissions MODE (a combination of 4 read, 2 write, 1 execute)
 * on it? Returns TRUE, or FALSE with *why_r (newly allocated) naming the
 * path and what is missing. */
gboolean doctor_user_may(const struct doctor_user *u, const char *path,
			 int mode, char **why_r);

/* The groups of checks, one file each; each adds its own results. */
void doctor_check_database(struct doctor *d); /* doctor-data.c */
void doctor_check_sendmail(struct doctor *d);
void doctor_check_tables(struct doctor *d);
void doctor_check_syncs(struct doctor *d);
void doctor_check_removed(struct doctor *d);
void doctor_check_running(struct doctor *d); /* doctor-postfix.c */
void doctor_check_transport(struct doctor *d);
void doctor_check_policy(struct doctor *d);
void doctor_check_maincf(struct doctor *d);
void doctor_check_programs(struct doctor *d); /* doctor-access.c */
void doctor_check_access(struct doctor *d);
void doctor_check_table_owner(struct doctor *d); /* doctor-files.c */
void doctor_check_private(struct doctor *d);
void doctor_check_routing(struct doctor *d); /* doctor-routing.c */
void doctor_check_dkim(struct doctor *d);    /* doctor-dkim.c */
void doctor_check_relay(struct doctor *d);   /* doctor-relay.c */
void doctor_check_auth(struct doctor *d);    /* doctor-auth.c */

/* doctor-dkim.c: the value of KEY in opendkim.conf TEXT (any case; the
 * last one, as opendkim reads it), or NULL. Newly allocated. */
char *doctor_opendkim_value(const char *text, const char *key);

#endif
