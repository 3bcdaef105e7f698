/* doctor-master.c - what doctor knows of Postfix's services, read
 * through postconf(1): the master.cf entries (postconf -M), which of them
 * run soarlist-deliver and soarlist policy, and where a restriction list
 * of main.cf (postconf -hx) or a -o override in master.cf (postconf -Px)
 * names a policy service (check_policy_service unix:private/NAME).
 */
#include <pwd.h>
#include <string.h>

#include "doctor-internal.h"
#include "soarlist/postfix-maps.h"

/* The SMTP restriction lists where a policy service may be named. */
static const char *const restriction_params[] = {
	"smtpd_client_restrictions",
	"smtpd_helo_restrictions",
	"smtpd_sender_restrictions",
	"smtpd_relay_restrictions",
	"smtpd_recipient_restrictions",
	"smtpd_data_restrictions",
	"smtpd_end_of_data_restrictions",
	"smtpd_etrn_restrictions",
	NULL,
};

/* argv= and every word after it, as a new NULL-terminated vector. */
static char **
argv_from(GPtrArray *w, guint i)
{
	GPtrArray *v = g_ptr_array_new();

	g_ptr_array_add(v, g_strdup((const char *)w->pdata[i] + 5));
	for (guint j = i + 1; j < w->len; j++)
		g_ptr_array_add(v, g_strdup(w->pdata[j]));
	g_ptr_array_add(v, NULL);
	return (char **)g_ptr_array_free(v, FALSE);
}

/* One line of postconf -M, or NULL when it has too few fields. */
static struct doctor_service *
service_parse(const char *line)
{
	char **f = g_strsplit_set(line, " \t", -1);
	GPtrArray *w = g_ptr_array_new();
	struct doctor_service *s = NULL;

	for (char **p = f; *p != NULL; p++)
		if (**p != '\0')
			g_ptr_array_add(w, *p);
	if (w->len >= 8) {
		s = g_new0(struct doctor_service, 1);
		s->name = g_strdup(w->pdata[0]);
		s->type = g_strdup(w->pdata[1]);
		s->command = g_strdup(w->pdata[7]);
	}
	for (guint i = 8; s != NULL && i < w->len; i++) {
		const char *a = w->pdata[i];
		if (g_str_has_prefix(a, "user=")) {
			s->user = g_strndup(a + 5, strcspn(a + 5, ":"));
		} else if (g_str_has_prefix(a, "argv=")) {
			s->argv = argv_from(w, i);
			break;
		}
	}
	g_ptr_array_unref(w);
	g_strfreev(f);
	return s;
}

static void
service_free(gpointer p)
{
	struct doctor_service *s = p;

	g_free(s->name);
	g_free(s->type);
	g_free(s->command);
	g_free(s->user);
	g_strfreev(s->argv);
	g_free(s);
}

static gboolean
argv0_is(const struct doctor_service *s, const char *base)
{
	const char *slash;

	if (s->argv == NULL || s->argv[0] == NULL)
		return FALSE;
	slash = strrchr(s->argv[0], '/');
	return strcmp(slash ? slash + 1 : s->argv[0], base) == 0;
}

gboolean
doctor_service_is_deliver(const struct doctor_service *s)
{
	return strcmp(s->command, "pipe") == 0 &&
	       argv0_is(s, "soarlist-deliver");
}

gboolean
doctor_service_is_policy(const struct doctor_service *s)
{
	return strcmp(s->command, "spawn") == 0 && argv0_is(s, "soarlist") &&
	       g_strv_contains((const char *const *)s->argv + 1, "policy");
}

const struct doctor_service *
doctor_service_find(const struct doctor *d, const char *name)
{
	for (guint i = 0; d->services && i < d->services->len; i++) {
		const struct doctor_service *s = d->services->pdata[i];
		if (strcmp(s->name, name) == 0 && strcmp(s->type, "unix") == 0)
			return s;
	}
	return NULL;
}

/* Add to OUT a "PARAM NAME PERMIT" for each check_policy_service
 * [unix:]private/NAME in LIST, "PARAM = VALUE"; PERMIT is the first
 * permit* restriction before it in LIST, or "-". */
static void
policy_targets(const char *list, GPtrArray *out)
{
	char **t = g_strsplit_set(list, " \t,{}", -1);
	const char *permit = NULL;
	gboolean next = FALSE;

	for (char **w = t + 1; *w != NULL; w++) {
		const char *n = *w;

		if (*n == '\0' || strcmp(n, "=") == 0)
			continue;
		if (!next) {
			next = strcmp(n, "check_policy_service") == 0;
			if (permit == NULL && g_str_has_prefix(n, "permit"))
				permit = n;
			continue;
		}
		next = FALSE;
		if (g_str_has_prefix(n, "unix:"))
			n += 5;
		if (g_str_has_prefix(n, "private/"))
			g_ptr_array_add(out,
					g_strdup_printf("%s %s %s", t[0], n + 8,
							permit ? permit : "-"));
	}
	g_strfreev(t);
}

/* Every "PARAM NAME" pair where a restriction list of main.cf, or a -o
 * override in master.cf, names a policy service. */
static GPtrArray *
policy_uses(const struct doctor *d)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	char *p = doctor_postconf(d, "-Px", NULL, NULL);
	char **lines = g_strsplit(p ? p : "", "\n", -1);

	for (int i = 0; restriction_params[i] != NULL; i++) {
		char *v = doctor_postconf(d, "-hx", restriction_params[i],
					  NULL);
		char *l = g_strdup_printf("%s = %s", restriction_params[i],
					  v ? v : "");
		policy_targets(l, out);
		g_free(l);
		g_free(v);
	}
	for (char **l = lines; *l != NULL; l++)
		if (strstr(*l, "/smtpd_") && strstr(*l, "_restrictions = "))
			policy_targets(*l, out);
	g_strfreev(lines);
	g_free(p);
	return out;
}

gboolean
doctor_policy_used(const struct doctor *d, const char *name)
{
	GPtrArray *uses = d->policy_uses;

	gsize n = strlen(name);

	for (guint i = 0; uses != NULL && i < uses->len; i++) {
		const char *sp = strchr(uses->pdata[i], ' ');
		if (sp != NULL && strncmp(sp + 1, name, n) == 0 &&
		    sp[1 + n] == ' ')
			return TRUE;
	}
	return FALSE;
}

gboolean
doctor_user_privileged(const struct doctor *d, const char *user)
{
	struct passwd *pw = user ? getpwnam(user) : NULL;
	char *owner;
	gboolean bad;

	if (pw == NULL)
		return FALSE;
	if (pw->pw_uid == 0)
		return TRUE;
	owner = doctor_postconf(d, "-hx", "mail_owner", NULL);
	bad = g_strcmp0(owner, user) == 0;
	g_free(owner);
	return bad;
}

/* The soarlist services and their users (none for a privileged user=:
 * the programs check reports it). */
static void
find_ours(struct doctor *d)
{
	d->deliver = doctor_service_find(d, POSTFIX_TRANSPORT);
	if (d->deliver != NULL && !doctor_service_is_deliver(d->deliver))
		d->deliver = NULL;
	for (guint i = 0; i < d->services->len; i++) {
		const struct doctor_service *s = d->services->pdata[i];
		if (doctor_service_is_policy(s) &&
		    (d->policy == NULL ||
		     !doctor_policy_used(d, d->policy->name)))
			d->policy = s;
	}
	if (d->user_arg != NULL)
		d->pipe_user = doctor_user_new(d->user_arg);
	else if (d->deliver && d->deliver->user &&
		 !doctor_user_privileged(d, d->deliver->user))
		d->pipe_user = doctor_user_new(d->deliver->user);
	if (d->policy && d->policy->user &&
	    !doctor_user_privileged(d, d->policy->user))
		d->policy_user = doctor_user_new(d->policy->user);
}

void
doctor_services_load(struct doctor *d)
{
	GError *err = NULL;
	char *out = doctor_postconf(d, "-M", NULL, &err);
	char **lines;

	if (out == NULL) {
		d->services_error = g_strdup(err->message);
		g_error_free(err);
		return;
	}
	d->services = g_ptr_array_new_with_free_func(service_free);
	lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l != NULL; l++) {
		struct doctor_service *s = service_parse(*l);
		if (s != NULL)
			g_ptr_array_add(d->services, s);
	}
	g_strfreev(lines);
	g_free(out);
	d->policy_uses = policy_uses(d);
	find_ours(d);
}

void
doctor_services_free(struct doctor *d)
{
	if (d->services != NULL)
		g_ptr_array_unref(d->services);
	d->services = NULL;
	if (d->policy_uses != NULL)
		g_ptr_array_unref(d->policy_uses);
	d->policy_uses = NULL;
	g_free(d->services_error);
	d->services_error = NULL;
	doctor_user_free(&d->pipe_user);
	doctor_user_free(&d->policy_user);
}
