/* doctor-postfix.c - doctor's checks of the Postfix wiring: Postfix runs
 * (postfix status); master.cf has the soarlist pipe transport and the
 * policy service; main.cf routes to them and uses the tables; and every
 * name one side uses exists on the other (doctor-master.c reads them).
 */
#include <string.h>
#include <unistd.h>

#include "doctor-internal.h"
#include "soarlist/postfix-maps.h"
#include "soarlist/proc.h"

/* Is Postfix running? As root, postfix status says; postfix(1) answers
 * root only, so anyone else asks postqueue -p, which needs the master's
 * showq service ("mail system is down" otherwise). *CMD_R receives the
 * command, *WHY_R (may be NULL) what it printed when it said no. */
static gboolean
postfix_running(const struct doctor *d, char **cmd_r, char **why_r)
{
	char *dir = d->cfg->postfix_config_dir;
	char *bin = doctor_postconf(d, "-hx", "command_directory", NULL);
	gboolean root = geteuid() == 0;
	char *prog = g_build_filename(bin ? bin : "/usr/sbin",
				      root ? "postfix" : "postqueue", NULL);
	char *argv[] = { prog, "-c", dir, root ? "status" : "-p", NULL };
	GError *err = NULL;
	gboolean alive;

	if (dir == NULL) {
		argv[1] = argv[3];
		argv[2] = NULL;
	}
	alive = proc_run(argv, NULL, &err) == 0;
	*cmd_r = g_strjoinv(" ", argv);
	*why_r = err ? g_strdup(err->message) : NULL;
	g_clear_error(&err);
	g_free(prog);
	g_free(bin);
	return alive;
}

void
doctor_check_running(struct doctor *d)
{
	const char *dir = d->cfg->postfix_config_dir;
	char *cmd = NULL, *why = NULL;
	gboolean ok = postfix_running(d, &cmd, &why);

	doctor_add(d, ok,
		   ok ? g_strdup_printf("Postfix is running (%s)", cmd)
		      : g_strdup_printf("Postfix is not running (%s: %s)", cmd,
					why),
		   g_strdup_printf("start it: postfix%s%s start (or systemctl "
				   "start postfix)",
				   dir ? " -c " : "", dir ? dir : ""));
	g_free(why);
	g_free(cmd);
}

/* A soarlist-deliver service under another name than the transport
 * table's: mail never reaches it. */
static void
check_stray_deliver(struct doctor *d)
{
	for (guint i = 0; i < d->services->len; i++) {
		const struct doctor_service *s = d->services->pdata[i];

		if (s == d->deliver || !doctor_service_is_deliver(s))
			continue;
		doctor_add(
			d, FALSE,
			g_strdup_printf(
				"master.cf service %s runs "
				"soarlist-deliver, but the transport table routes list "
				"mail to " POSTFIX_TRANSPORT ":, never to %s:",
				s->name, s->name),
			g_strdup("name it " POSTFIX_TRANSPORT
				 " in master.cf (or "
				 "remove it), then postfix reload"));
	}
}

static void
check_limit(struct doctor *d)
{
	char *limit = doctor_postconf(
		d, "-hx", POSTFIX_TRANSPORT "_destination_recipient_limit",
		NULL);

	doctor_add(d, g_strcmp0(limit, "1") == 0,
		   g_strdup_printf("soarlist pipe transport in master.cf, "
				   "recipient limit %s",
				   limit && *limit ? limit : "(unset)"),
		   g_strdup("set soarlist_destination_recipient_limit = 1 in "
			    "main.cf (soarlist-deliver takes one recipient), "
			    "then postfix reload"));
	g_free(limit);
}

static char *
no_transport(const struct doctor_service *s)
{
	if (s == NULL)
		return g_strdup(
			"postconf -M shows no soarlist pipe transport, "
			"and the transport table routes list mail to " POSTFIX_TRANSPORT
			":");
	return g_strdup_printf("postconf -M shows no soarlist pipe transport: "
			       "master.cf service " POSTFIX_TRANSPORT
			       " runs %s "
			       "%s, not pipe with argv=.../soarlist-deliver",
			       s->command, s->argv ? s->argv[0] : "(no argv=)");
}

/* master.cf has the pipe transport the transport table names, running
 * soarlist-deliver with a user=, and main.cf limits it to one recipient
 * per delivery; no other service runs soarlist-deliver. */
void
doctor_check_transport(struct doctor *d)
{
	if (d->services == NULL) {
		doctor_add(d, FALSE,
			   g_strdup_printf("postconf -M failed: %s",
					   d->services_error),
			   g_strdup("check postconf = and postfix_config_dir = "
				    "in [soarlist]"));
		return;
	}
	if (d->deliver == NULL)
		doctor_add(
			d, FALSE,
			no_transport(doctor_service_find(d, POSTFIX_TRANSPORT)),
			g_strdup("add the soarlist entry of contrib/postfix/"
				 "master.cf.fragment to master.cf, then "
				 "postfix reload"));
	else if (d->deliver->user == NULL)
		doctor_add(d, FALSE,
			   g_strdup("master.cf service soarlist has "
				    "no user="),
			   g_strdup("add user=soarlist (the owner of the "
				    "database) to it, then postfix reload"));
	else
		check_limit(d);
	check_stray_deliver(d);
}

/* USE ("PARAM NAME PERMIT") names a missing service, or names a soarlist
 * policy service after a permit* restriction. TRUE when it is well. */
static gboolean
check_policy_use(struct doctor *d, const char *use)
{
	char **u = g_strsplit(use, " ", 3);
	const struct doctor_service *s = doctor_service_find(d, u[1]);
	gboolean ok = FALSE;

	if (s == NULL)
		doctor_add(
			d, FALSE,
			g_strdup_printf(
				"%s: check_policy_service "
				"unix:private/%s has no master.cf service %s (Postfix "
				"defers every recipient it checks)",
				u[0], u[1], u[1]),
			g_strdup_printf(
				"correct the name, or add the "
				"soarlist-policy entry of contrib/postfix/"
				"master.cf.fragment to master.cf as %s; then "
				"postfix reload",
				u[1]));
	else if (doctor_service_is_policy(s) && strcmp(u[2], "-") != 0)
		doctor_add(
			d, FALSE,
			g_strdup_printf(
				"%s: %s comes before "
				"check_policy_service unix:private/%s: posts those "
				"clients send that soarlist refuses are accepted, then "
				"bounced (backscatter)",
				u[0], u[2], u[1]),
			g_strdup_printf(
				"put check_policy_service unix:private/%s "
				"first in %s (see contrib/postfix/main.cf."
				"fragment), then postfix reload",
				u[1], u[0]));
	else
		ok = TRUE;
	g_strfreev(u);
	return ok;
}

static void
policy_unused(struct doctor *d, const struct doctor_service *s)
{
	doctor_add(
		d, FALSE,
		g_strdup_printf(
			"master.cf service %s runs "
			"soarlist policy, but no check_policy_service in main.cf names "
			"it: strangers are not refused at RCPT TO",
			s->name),
		g_strdup_printf(
			"add check_policy_service unix:private/%s to "
			"smtpd_recipient_restrictions (see contrib/postfix/"
			"main.cf.fragment), then postfix reload",
			s->name));
}

/* master.cf has a spawn service running soarlist policy, main.cf names
 * it, and every policy service main.cf names exists. */
void
doctor_check_policy(struct doctor *d)
{
	guint bad, n = 0;

	if (d->services == NULL)
		return; /* the transport check has said why */
	bad = 0;
	for (guint i = 0; i < d->policy_uses->len; i++)
		bad += !check_policy_use(d, d->policy_uses->pdata[i]);
	for (guint i = 0; i < d->services->len; i++) {
		const struct doctor_service *s = d->services->pdata[i];

		if (!doctor_service_is_policy(s))
			continue;
		n++;
		if (!doctor_policy_used(d, s->name)) {
			policy_unused(d, s);
			bad++;
		}
	}
	if (n == 0)
		doctor_add(d, FALSE,
			   g_strdup("postconf -M shows no soarlist "
				    "policy service (spawn, argv=.../"
				    "soarlist policy)"),
			   g_strdup("add the soarlist-policy entry of contrib/"
				    "postfix/master.cf.fragment to master.cf, "
				    "then postfix reload"));
	else if (bad == 0)
		doctor_add(d, TRUE,
			   g_strdup_printf("policy service %s in "
					   "master.cf, used by main.cf",
					   d->policy->name),
			   NULL);
}

/* main.cf uses the tables (sender_logins is optional: only with SASL). */
void
doctor_check_maincf(struct doctor *d)
{
	static const char *const params[][2] = {
		{ "relay_domains", "domains" },
		{ "transport_maps", "transport" },
		{ "relay_recipient_maps", "recipients" },
	};
	GString *bad;

	if (d->cfg->postfix_dir == NULL)
		return; /* the tables check says so */
	bad = g_string_new(NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(params); i++) {
		char *v = doctor_postconf(d, "-hx", params[i][0], NULL);
		char *want = g_build_filename(d->cfg->postfix_dir, params[i][1],
					      NULL);
		if (v == NULL || strstr(v, want) == NULL)
			g_string_append_printf(bad, " %s", params[i][0]);
		g_free(want);
		g_free(v);
	}
	doctor_add(d, bad->len == 0,
		   bad->len == 0
			   ? g_strdup("main.cf uses the tables")
			   : g_strdup_printf(
				     "main.cf does not use soarlist's tables "
				     "for:%s",
				     bad->str),
		   g_strdup("merge contrib/postfix/main.cf.fragment into "
			    "main.cf, then postfix reload"));
	g_string_free(bad, TRUE);
}
