/* doctor-auth.c - doctor's checks of authenticated posting, where a club
 * or a list has require_auth = dmarc: the verifier OpenDKIM (its
 * opendkim_config) writes the authserv-id soarlist trusts (authserv_id),
 * it verifies incoming mail (a verifying Mode, smtpd_milters), and a
 * client cannot pass off Authentication-Results of its own as ours: either
 * Postfix's own Received header names another host than the authserv-id
 * (then a client's headers, always below it, are never trusted; auth.h),
 * or OpenDKIM removes every header with our authserv-id (RemoveARAll).
 * Without an OpenDKIM configuration the verifier (OpenDMARC, an SPF
 * daemon) is not judged, and doctor says so.
 */
#include <string.h>

#include "doctor-internal.h"

/* The first club or list with require_auth = dmarc, or NULL. */
static const char *
dmarc_user(const struct config *cfg)
{
	GHashTableIter it;
	gpointer key, value;

	for (guint i = 0; i < cfg->clubs->len; i++) {
		const struct club_config *c = g_ptr_array_index(cfg->clubs, i);
		if (c->require_auth == REQUIRE_AUTH_DMARC)
			return c->slug;
	}
	g_hash_table_iter_init(&it, cfg->lists);
	while (g_hash_table_iter_next(&it, &key, &value))
		if (((struct list_settings *)value)->require_auth ==
		    REQUIRE_AUTH_DMARC)
			return key;
	return NULL;
}

static gboolean
conf_true(const char *conf, const char *key)
{
	g_autofree char *v = doctor_opendkim_value(conf, key);

	return v != NULL &&
	       (g_ascii_strcasecmp(v, "yes") == 0 ||
		g_ascii_strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* The authserv-id OpenDKIM writes: AuthservID, HOSTNAME meaning the host
 * name, and by default the MTA's name (Postfix's myhostname). */
static char *
opendkim_authserv_id(const char *conf, const char *myhostname)
{
	char *v = doctor_opendkim_value(conf, "AuthservID");

	if (v != NULL && strcmp(v, "HOSTNAME") == 0) {
		g_free(v);
		return g_strdup(g_get_host_name());
	}
	return v != NULL ? v : g_strdup(myhostname ? myhostname : "");
}

static void
check_authserv_id(struct doctor *d, const char *conf, const char *myhostname)
{
	const char *ours = d->cfg->authserv_id;
	g_autofree char *theirs = opendkim_authserv_id(conf, myhostname);
	gboolean job = conf_true(conf, "AuthservIDWithJobID");
	gboolean ok = !job && g_ascii_strcasecmp(theirs, ours) == 0;

	doctor_add(
		d, ok,
		ok ? g_strdup_printf("OpenDKIM writes the authserv-id soarlist "
				     "trusts (%s)",
				     ours)
		   : g_strdup_printf(
			     "OpenDKIM writes authserv-id %s%s, soarlist "
			     "trusts %s: every post to a list with "
			     "require_auth = dmarc counts as "
			     "unauthenticated",
			     theirs, job ? "/JOBID (AuthservIDWithJobID)" : "",
			     ours),
		g_strdup_printf(
			"set AuthservID %s (and no AuthservIDWithJobID) "
			"in %s, or authserv_id = %s in soarlist.conf",
			ours, d->cfg->opendkim_config, theirs));
}

static void
check_forgery(struct doctor *d, const char *conf, const char *myhostname)
{
	const char *ours = d->cfg->authserv_id;
	gboolean below = myhostname == NULL ||
			 g_ascii_strcasecmp(myhostname, ours) != 0;
	gboolean removed = conf_true(conf, "RemoveARAll") &&
			   !conf_true(conf, "KeepAuthResults");

	doctor_add(
		d, below || removed,
		below ? g_strdup_printf(
				"Authentication-Results a client sends stand "
				"below Postfix's own Received (by %s, not %s): "
				"never trusted",
				myhostname ? myhostname : "?", ours)
		: removed
			? g_strdup_printf(
				  "OpenDKIM removes the Authentication-Results "
				  "a client sends as %s (RemoveARAll)",
				  ours)
			: g_strdup_printf(
				  "OpenDKIM keeps the Authentication-Results a "
				  "client sends as %s with spf= or dmarc= "
				  "results (no RemoveARAll), and Postfix's "
				  "Received names %s too: a forged one would "
				  "count",
				  ours, ours),
		g_strdup_printf(
			"set RemoveARAll yes (and no KeepAuthResults) in "
			"%s, then restart opendkim",
			d->cfg->opendkim_config));
}

static void
check_verifying(struct doctor *d, const char *conf)
{
	g_autofree char *mode = doctor_opendkim_value(conf, "Mode");
	g_autofree char *milters = doctor_postconf(d, "-hx", "smtpd_milters",
						   NULL);
	gboolean verifies = mode == NULL || strchr(mode, 'v') != NULL;
	gboolean used = milters != NULL && *milters != '\0';

	doctor_add(
		d, verifies && used,
		verifies && used
			? g_strdup_printf(
				  "OpenDKIM verifies incoming mail (Mode %s, "
				  "smtpd_milters)",
				  mode ? mode : "sv")
		: !verifies
			? g_strdup_printf(
				  "OpenDKIM Mode %s does not verify: no "
				  "Authentication-Results for require_auth = "
				  "dmarc",
				  mode)
			: g_strdup(
				  "smtpd_milters is empty: no milter verifies incoming "
				  "mail, so every post to a list with require_auth = "
				  "dmarc counts as unauthenticated"),
		!verifies
			? g_strdup_printf("set Mode sv in %s",
					  d->cfg->opendkim_config)
			: g_strdup(
				  "set smtpd_milters to the OpenDKIM socket in "
				  "main.cf, then postfix reload"));
}

void
doctor_check_auth(struct doctor *d)
{
	const char *who = dmarc_user(d->cfg);
	g_autofree char *conf = NULL;
	g_autofree char *myhostname = NULL;

	if (who == NULL)
		return;
	if (d->cfg->opendkim_config == NULL ||
	    !g_file_get_contents(d->cfg->opendkim_config, &conf, NULL, NULL)) {
		doctor_add(
			d, TRUE,
			g_strdup_printf(
				"%s has require_auth = dmarc; no OpenDKIM configuration "
				"(%s): the verifier writing authserv-id %s is not "
				"checked",
				who,
				d->cfg->opendkim_config
					? d->cfg->opendkim_config
					: "none",
				d->cfg->authserv_id),
			NULL);
		return;
	}
	myhostname = doctor_postconf(d, "-hx", "myhostname", NULL);
	check_authserv_id(d, conf, myhostname);
	check_forgery(d, conf, myhostname);
	check_verifying(d, conf);
}
