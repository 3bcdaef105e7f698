/* doctor-relay.c - doctor's check of relaying through a smarthost, where
 * main.cf has a relayhost (cloud machines often may not send on port 25;
 * production relays through SMTP2GO). Where Postfix's SMTP client logs in
 * to it (smtp_sasl_auth_enable; a relay that knows the server by its
 * address needs no login), smtp_sasl_password_maps has a USER:PASSWORD
 * entry for the relayhost as written there (or without its port, as
 * smtp(8) looks it up), the source file of that table is not readable by
 * others, and TLS is used towards the relay (smtp_tls_security_level not
 * none), so the password and the members' addresses do not travel in
 * clear. No relayhost, no check.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor-internal.h"
#include "soarlist/proc.h"

/* The value of KEY in table MAP (TYPE:NAME) through postmap -q, or NULL. */
static char *
lookup(const struct doctor *d, const char *map, const char *key)
{
	char *argv[7], *out = NULL;
	int n = 0;

	argv[n++] = d->cfg->postmap;
	if (d->cfg->postfix_config_dir != NULL) {
		argv[n++] = "-c";
		argv[n++] = d->cfg->postfix_config_dir;
	}
	argv[n++] = "-q";
	argv[n++] = (char *)key;
	argv[n++] = (char *)map;
	argv[n] = NULL;
	if (proc_run(argv, &out, NULL) < 0) {
		g_free(out);
		return NULL;
	}
	return g_strstrip(out);
}

/* The source file of MAP (TYPE:PATH of an indexed or plain file type),
 * newly allocated, or NULL for other types. */
static char *
map_file(const char *map)
{
	static const char *const types[] = { "hash:", "btree:",    "lmdb:",
					     "cdb:",  "texthash:", NULL };

	for (int i = 0; types[i] != NULL; i++)
		if (g_str_has_prefix(map, types[i]))
			return g_strdup(map + strlen(types[i]));
	return NULL;
}

/* The relay's credentials: which map has them, or a failure said. */
static gboolean
credentials(struct doctor *d, const char *relay, const char *maps,
	    char **found_r)
{
	g_auto(GStrv) list = g_strsplit_set(maps, ", \t", -1);
	g_autofree char *bare = g_strdup(relay);
	char *colon = strrchr(bare, ':');

	/* "[host]:port" is looked up as written, then as "[host]" */
	if (colon != NULL && colon > strrchr(bare, ']'))
		*colon = '\0';
	for (char **m = list; *m != NULL; m++) {
		g_autofree char *v = NULL;

		if (**m == '\0')
			continue;
		v = lookup(d, *m, relay);
		if (v == NULL && strcmp(bare, relay) != 0)
			v = lookup(d, *m, bare);
		if (v != NULL) {
			*found_r = g_strdup(*m);
			if (strchr(v, ':') != NULL)
				return TRUE;
			doctor_add(
				d, FALSE,
				g_strdup_printf("relayhost %s: its entry in "
						"%s is not USER:PASSWORD",
						relay, *m),
				g_strdup("write it as 'RELAY USER:PASSWORD', "
					 "then postmap the file"));
			return FALSE;
		}
	}
	doctor_add(d, FALSE,
		   g_strdup_printf("relayhost %s: no credentials for it in "
				   "smtp_sasl_password_maps (%s)%s",
				   relay, maps,
				   geteuid() == 0 ? ""
						  : " (run doctor as root: "
						    "the table is root's)"),
		   g_strdup_printf("add '%s USER:PASSWORD' to the table's "
				   "file and postmap it",
				   relay));
	return FALSE;
}

void
doctor_check_relay(struct doctor *d)
{
	g_autofree char *relay = doctor_postconf(d, "-hx", "relayhost", NULL);
	g_autofree char *sasl = NULL, *maps = NULL, *tls = NULL;
	g_autofree char *map = NULL, *file = NULL;
	struct stat st;

	if (relay == NULL || *relay == '\0')
		return;
	sasl = doctor_postconf(d, "-hx", "smtp_sasl_auth_enable", NULL);
	maps = doctor_postconf(d, "-hx", "smtp_sasl_password_maps", NULL);
	tls = doctor_postconf(d, "-hx", "smtp_tls_security_level", NULL);
	if (sasl == NULL || g_ascii_strcasecmp(sasl, "yes") != 0) {
		/* a relay that knows this server by its address (an ISP's
		 * smarthost) needs no login; one that wants it refuses */
		doctor_add(
			d, TRUE,
			g_strdup_printf("relayhost %s: Postfix does not log "
					"in to it (smtp_sasl_auth_enable = "
					"%s): the relay must know this server "
					"by its address",
					relay, sasl ? sasl : "?"),
			NULL);
		return;
	}
	if (maps == NULL || *maps == '\0') {
		doctor_add(
			d, FALSE,
			g_strdup_printf("relayhost %s: smtp_sasl_auth_enable "
					"= yes but no smtp_sasl_password_maps",
					relay),
			g_strdup("postconf -e smtp_sasl_password_maps=hash:"
				 "/etc/postfix/sasl_passwd, with 'RELAY "
				 "USER:PASSWORD' in that file (mode 0600), "
				 "postmapped"));
		return;
	}
	if (!credentials(d, relay, maps, &map))
		return;
	file = map_file(map);
	for (int i = 0; file != NULL && i < 2; i++) {
		/* the source file, and the indexed file made from it */
		g_autofree char *path = i == 0 ? g_strdup(file)
					       : g_strconcat(file, ".db", NULL);

		if (stat(path, &st) == 0 && (st.st_mode & 0004)) {
			doctor_add(d, FALSE,
				   g_strdup_printf("relayhost %s: the password "
						   "table %s is readable by "
						   "everyone (mode %04o)",
						   relay, path,
						   st.st_mode & 07777),
				   g_strdup_printf("chmod 0600 %s %s.db", file,
						   file));
			return;
		}
	}
	if (tls == NULL || *tls == '\0' || strcmp(tls, "none") == 0) {
		doctor_add(
			d, FALSE,
			g_strdup_printf("relayhost %s: smtp_tls_security_level "
					"= %s: the password and the mail go "
					"to the relay in clear",
					relay, tls && *tls ? tls : "(empty)"),
			g_strdup(
				"postconf -e smtp_tls_security_level=encrypt"));
		return;
	}
	doctor_add(d, TRUE,
		   g_strdup_printf("relayhost %s: credentials in %s, TLS %s",
				   relay, map, tls),
		   NULL);
}
