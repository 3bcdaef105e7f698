/* doctor-dkim.c - doctor's check of OpenDKIM, where it is configured
 * (opendkim_config, default /etc/opendkim.conf; no file, no check): every
 * club domain is in its SigningTable, so that the lists' mail, whose From
 * is LIST-bounces@DOMAIN or LIST@DOMAIN, is signed; and Postfix passes
 * that mail, which soarlist reinjects with sendmail, to a milter
 * (non_smtpd_milters). SigningTable lookups follow opendkim.conf(5):
 * refile: tables hold wildcard patterns tried against the whole address,
 * plain files (file: or a path) keys tried as user@host, host, user@.parent,
 * .parent, user@* and *. Other table types are not read. An OpenDKIM
 * whose Mode does not sign (a verifier for require_auth) is not judged.
 */
#include <string.h>

#include "doctor-internal.h"
#include "soarlist/catalog.h"

char *
doctor_opendkim_value(const char *text, const char *key)
{
	char **lines = g_strsplit(text, "\n", -1);
	char *v = NULL;

	/* the last one counts, as for opendkim (a line added at the end of
	 * Debian's file overrides its default) */
	for (char **l = lines; *l != NULL; l++) {
		char *s = g_strstrip(*l);
		gsize n = strcspn(s, " \t");

		if (*s != '#' && n == strlen(key) &&
		    g_ascii_strncasecmp(s, key, n) == 0) {
			g_free(v);
			v = g_strdup(g_strchug(s + n));
		}
	}
	g_strfreev(lines);
	return v;
}

/* The keys (first fields) of table file PATH, lowercased, or NULL. */
static char **
table_keys(const char *path)
{
	char *text = NULL, **lines;
	GPtrArray *keys = g_ptr_array_new();

	if (!g_file_get_contents(path, &text, NULL, NULL)) {
		g_ptr_array_unref(keys);
		return NULL;
	}
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l != NULL; l++) {
		char *s = g_strstrip(*l);
		if (*s != '\0' && *s != '#')
			g_ptr_array_add(keys,
					g_ascii_strdown(s, strcspn(s, " \t")));
	}
	g_ptr_array_add(keys, NULL);
	g_strfreev(lines);
	g_free(text);
	return (char **)g_ptr_array_free(keys, FALSE);
}

/* Does a plain table with KEYS find the address LOCAL@DOMAIN? */
static gboolean
plain_finds(char **keys, const char *local, const char *domain)
{
	GPtrArray *want = g_ptr_array_new_with_free_func(g_free);
	gboolean found = FALSE;

	g_ptr_array_add(want, g_strdup_printf("%s@%s", local, domain));
	g_ptr_array_add(want, g_strdup(domain));
	for (const char *p = domain; p != NULL; p = strchr(p, '.')) {
		p += *p == '.';
		g_ptr_array_add(want, g_strdup_printf("%s@.%s", local, p));
		g_ptr_array_add(want, g_strdup_printf(".%s", p));
	}
	g_ptr_array_add(want, g_strdup_printf("%s@*", local));
	g_ptr_array_add(want, g_strdup("*"));
	for (guint i = 0; i < want->len && !found; i++)
		found = g_strv_contains((const char *const *)keys,
					want->pdata[i]);
	g_ptr_array_unref(want);
	return found;
}

/* Does a refile: table with PATTERNS match ADDRESS ('*' any string)? */
static gboolean
refile_finds(char **patterns, const char *address)
{
	for (char **p = patterns; *p != NULL; p++) {
		GPatternSpec *spec = g_pattern_spec_new(*p);
		gboolean m = g_pattern_spec_match_string(spec, address);

		g_pattern_spec_free(spec);
		if (m)
			return TRUE;
	}
	return FALSE;
}

static gboolean
refile_or_plain(char **keys, gboolean refile, const char *address,
		const char *local, const char *domain)
{
	return refile ? refile_finds(keys, address)
		      : plain_finds(keys, local, domain);
}

/* Is every From address of club C's lists at DOMAIN found in the table? */
static gboolean
domain_signed(char **keys, gboolean refile, const struct club_config *c,
	      const char *domain, GPtrArray *lists)
{
	gboolean ok = TRUE;
	guint n = 0;

	for (guint i = 0; ok && lists && i < lists->len; i++) {
		const struct catalog_list *l = lists->pdata[i];
		char *a, *b;

		if (strcmp(l->club_slug, c->slug) != 0)
			continue;
		n++;
		b = g_strdup_printf("%s-bounces", l->name);
		a = g_strdup_printf("%s@%s", l->name, domain);
		ok = refile_or_plain(keys, refile, a, l->name, domain);
		g_free(a);
		a = g_strdup_printf("%s@%s", b, domain);
		ok = ok && refile_or_plain(keys, refile, a, b, domain);
		g_free(a);
		g_free(b);
	}
	if (n == 0) { /* no lists known: any address at the domain */
		char *a = g_strdup_printf("postmaster@%s", domain);
		ok = refile_or_plain(keys, refile, a, "postmaster", domain);
		g_free(a);
	}
	return ok;
}

/* The table OpenDKIM signs by: SigningTable, else Domain. Sets *keys_r
 * (NULL: a type not read here, or a file that cannot be read, then named
 * by *file_r) and *refile_r; returns the setting's value (newly
 * allocated) or NULL when there is neither. */
static char *
signing_table(const char *conf, char ***keys_r, gboolean *refile_r,
	      const char **file_r)
{
	char *v = doctor_opendkim_value(conf, "SigningTable");
	const char *path;

	*keys_r = NULL;
	*file_r = NULL;
	*refile_r = FALSE;
	if (v == NULL) {
		v = doctor_opendkim_value(conf, "Domain");
		if (v != NULL && *v != '/' && !g_str_has_prefix(v, "file:")) {
			*keys_r = g_strsplit_set(
				g_str_has_prefix(v, "csl:") ? v + 4 : v, ", ",
				-1);
			for (char **k = *keys_r; *k != NULL; k++)
				g_strstrip(*k);
			return v;
		}
	}
	if (v == NULL)
		return NULL;
	*refile_r = g_str_has_prefix(v, "refile:");
	path = *refile_r ? v + 7 : g_str_has_prefix(v, "file:") ? v + 5 : v;
	if (*path == '/') {
		*keys_r = table_keys(path);
		*file_r = path;
	}
	return v;
}

/* Club domains the table does not sign, separated by spaces. */
static GString *
unsigned_domains(struct doctor *d, char **keys, gboolean refile)
{
	GPtrArray *lists = d->db ? catalog_all_lists(d->db, NULL) : NULL;
	GString *missing = g_string_new(NULL);

	for (guint i = 0; i < d->cfg->clubs->len; i++) {
		const struct club_config *c = d->cfg->clubs->pdata[i];
		for (char **dom = c->domains; *dom != NULL; dom++)
			if (!domain_signed(keys, refile, c, *dom, lists))
				g_string_append_printf(missing, " %s", *dom);
	}
	if (lists != NULL)
		g_ptr_array_unref(lists);
	return missing;
}

static void
check_milter(struct doctor *d)
{
	char *m = doctor_postconf(d, "-hx", "non_smtpd_milters", NULL);

	if (m == NULL || *m == '\0')
		doctor_add(
			d, FALSE,
			g_strdup_printf(
				"OpenDKIM is configured "
				"(%s), but non_smtpd_milters is empty: list mail, which "
				"soarlist hands to sendmail, leaves unsigned",
				d->cfg->opendkim_config),
			g_strdup("set non_smtpd_milters = $smtpd_milters (the "
				 "OpenDKIM socket) in main.cf, then postfix "
				 "reload"));
	g_free(m);
}

void
doctor_check_dkim(struct doctor *d)
{
	const char *path = d->cfg->opendkim_config;
	char *conf = NULL, *table, **keys, *mode;
	const char *file;
	gboolean refile;
	GString *missing;

	if (path == NULL || !g_file_get_contents(path, &conf, NULL, NULL))
		return; /* no OpenDKIM here */
	mode = doctor_opendkim_value(conf, "Mode");
	if (mode != NULL && strchr(mode, 's') == NULL) {
		/* a verifier only (require_auth): signing is not its job */
		doctor_add(
			d, TRUE,
			g_strdup_printf("OpenDKIM %s: Mode %s "
					"verifies only; it signs no list mail",
					path, mode),
			NULL);
		g_free(mode);
		g_free(conf);
		return;
	}
	g_free(mode);
	table = signing_table(conf, &keys, &refile, &file);
	if (table == NULL || keys == NULL) {
		doctor_add(
			d, table != NULL && file == NULL,
			table == NULL
				? g_strdup_printf(
					  "OpenDKIM %s has neither SigningTable "
					  "nor Domain: it signs nothing",
					  path)
			: file != NULL
				? g_strdup_printf("OpenDKIM %s: cannot read %s",
						  table, file)
				: g_strdup_printf(
					  "OpenDKIM SigningTable %s: not read "
					  "(only refile: and files are)",
					  table),
			g_strdup_printf(
				"give %s a SigningTable that lists every "
				"club domain",
				path));
	} else {
		missing = unsigned_domains(d, keys, refile);
		doctor_add(
			d, missing->len == 0,
			missing->len == 0
				? g_strdup_printf(
					  "OpenDKIM %s signs every club domain",
					  table)
				: g_strdup_printf(
					  "OpenDKIM %s does not sign club "
					  "domain(s):%s",
					  table, missing->str),
			g_strdup_printf("add them to %s (and their keys to the "
					"KeyTable), then restart opendkim",
					table));
		g_string_free(missing, TRUE);
	}
	check_milter(d);
	g_strfreev(keys);
	g_free(table);
	g_free(conf);
}
