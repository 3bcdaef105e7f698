/* config.c - loading and validating soarlist.conf with GKeyFile.
 *
 * Every value is checked here, once, so the rest of the code can trust the
 * config. An invalid value is fatal (one line naming the file, the group and
 * the problem); an unknown key is only a warning, as in Postfix.
 */
#include "soarlist/config.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

#include "soarlist-build.h"
#include "soarlist/address.h"
#include "soarlist/db.h"
#include "soarlist/printable.h"
#include "soarlist/recipient.h"

static const char *const global_keys[] = {
	"database",
	"sendmail",
	"admin",
	"dev_redirect",
	"api_key_file",
	"log_file",
	"spool_dir",
	"postfix_dir",
	"postmap",
	"postconf",
	"postfix_config_dir",
	"app_login",
	"app_networks",
	"sync_max_age",
	"max_parallel",
	"connect_timeout",
	"timeout",
	"retries",
	"retry_backoff",
	"busy_timeout",
	"sendmail_timeout",
	"max_response_size",
	"max_shrink",
	"ca_file",
	"archive_dir",
	"bounce_threshold",
	"bounce_window",
	"hold_days",
	"opendkim_config",
	"authserv_id",
	"verp",
	"dkim_dir",
	"dkim_selector",
	"dkim_group",
	"mail_host",
	"relay_spf",
	"dmarc_rua",
	NULL,
};
static const char *const club_keys[] = {
	"name",   "api_url",      "api_key_file",           "domains",
	"owners", "require_auth", "unauthenticated_action", "verp",
	"state",  NULL,
};
static const char *const list_keys[] = {
	"posting",      "nonmember_action",
	"reply_to",     "subject_prefix",
	"display_name", "from_rewrite",
	"from_address", "list_unsubscribe",
	"max_size",     "footer",
	"owners",       "moderated",
	"require_auth", "unauthenticated_action",
	"verp",         NULL,
};

struct loader {
	GKeyFile *kf;
	struct config *cfg;
	const char *group;
	GError **error;
};

const char *
config_path(const char *explicit_path)
{
	const char *env;

	if (explicit_path != NULL && *explicit_path != '\0')
		return explicit_path;
	env = g_getenv("SOARLIST_CONFIG");
	if (env != NULL && *env != '\0')
		return env;
	return SOARLIST_DEFAULT_CONFIG;
}

static int fail(struct loader *l, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int
fail(struct loader *l, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *msg = NULL, *line = NULL;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	line = l->group != NULL ? g_strdup_printf("%s: [%s]: %s", l->cfg->path,
						  l->group, msg)
				: g_strdup_printf("%s: %s", l->cfg->path, msg);
	/* one line whatever the file holds: a group name may hold any
	 * byte, and a quoted value GKeyFile's escapes (\n, \t, \r)
	 * decoded into control bytes */
	line = printable_take(line);
	g_set_error_literal(l->error, CONFIG_ERROR, 0, line);
	return -1;
}

/* The value of KEY in the current group, stripped; NULL when absent or
 * empty. Newly allocated. */
static char *
get_string(struct loader *l, const char *key)
{
	char *v;

	/* most keys are left out: asking first spares GKeyFile making and
	 * freeing an error for each (a delivery reads the config once) */
	if (!g_key_file_has_key(l->kf, l->group, key, NULL))
		return NULL;
	v = g_key_file_get_string(l->kf, l->group, key, NULL);

	if (v != NULL) {
		g_strstrip(v);
		if (*v == '\0')
			g_clear_pointer(&v, g_free);
	}
	return v;
}

static gboolean
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return TRUE;
	return FALSE;
}

static void
check_keys(struct loader *l, const char *const *known)
{
	gsize n = 0;
	char **keys = g_key_file_get_keys(l->kf, l->group, &n, NULL);

	for (gsize i = 0; i < n; i++)
		if (!g_strv_contains(known, keys[i]))
			/* a key name is any bytes but '=' and a newline */
			g_ptr_array_add(
				l->cfg->warnings,
				printable_take(g_strdup_printf(
					"%s: [%s]: unknown key '%s' ignored",
					l->cfg->path, l->group, keys[i])));
	g_strfreev(keys);
}

/* Map VALUE to the index of NAMES it equals; -1 if none. */
static int
choice(const char *value, const char *const *names)
{
	for (int i = 0; names[i] != NULL; i++)
		if (g_ascii_strcasecmp(value, names[i]) == 0)
			return i;
	return -1;
}

static int
get_choice(struct loader *l, const char *key, const char *const *names,
	   int *out)
{
	char *v = get_string(l, key);
	int i;

	if (v == NULL)
		return 0;
	i = choice(v, names);
	if (i < 0) {
		char *all = g_strjoinv(" | ", (char **)names);
		fail(l, "%s = %s: expected %s", key, v, all);
		g_free(all);
		g_free(v);
		return -1;
	}
	*out = i;
	g_free(v);
	return 0;
}

static int
get_bool(struct loader *l, const char *key, gboolean *out)
{
	static const char *const names[] = {
		"no", "yes", "false", "true", "off", "on", "0", "1", NULL,
	};
	int i = -1;

	if (get_choice(l, key, names, &i) < 0)
		return -1;
	if (i >= 0)
		*out = i % 2 == 1;
	return 0;
}

static int
get_size(struct loader *l, const char *key, guint64 *out)
{
	char *v = get_string(l, key), *end = NULL;
	guint64 n, mult = 1;

	if (v == NULL)
		return 0;
	errno = 0;
	n = g_ascii_strtoull(v, &end, 10);
	if (end != v && *end != '\0' && end[1] == '\0') {
		switch (g_ascii_tolower(*end)) {
		case 'k':
			mult = 1024;
			end++;
			break;
		case 'm':
			mult = 1024 * 1024;
			end++;
			break;
		case 'g':
			mult = 1024 * 1024 * 1024;
			end++;
			break;
		default:
			break;
		}
	}
	if (end == v || *end != '\0' || errno != 0 || !g_ascii_isdigit(*v) ||
	    n > G_MAXUINT64 / mult) {
		fail(l,
		     "%s = %s: expected a size in bytes (suffix k, M or G "
		     "allowed)",
		     key, v);
		g_free(v);
		return -1;
	}
	*out = n * mult;
	g_free(v);
	return 0;
}

/* admin may be a full address or a bare local name such as "postmaster"
 * (Postfix delivers it locally). Newly allocated, or NULL when invalid. */
static char *
admin_address(const char *v)
{
	char *probe;
	gboolean ok;

	if (strchr(v, '@') != NULL)
		return address_normalize(v, NULL);
	probe = g_strconcat(v, "@localhost", NULL);
	ok = address_is_valid(probe);
	g_free(probe);
	return ok ? g_strdup(v) : NULL;
}

/* An absolute path, or DEF when the key is absent. */
static int
get_path(struct loader *l, const char *key, const char *def, char **out)
{
	*out = get_string(l, key);
	if (*out == NULL) {
		*out = g_strdup(def);
		return 0;
	}
	if (!g_path_is_absolute(*out))
		return fail(l, "%s = %s: must be an absolute path", key, *out);
	return 0;
}

/* A duration: seconds, or a number with s, m, h or d. */
static int
get_duration(struct loader *l, const char *key, guint64 *out)
{
	char *v = get_string(l, key), *end = NULL;
	guint64 n, mult = 1;

	if (v == NULL)
		return 0;
	n = g_ascii_strtoull(v, &end, 10);
	if (end != v && end[0] != '\0' && end[1] == '\0') {
		switch (*end) {
		case 's':
			end++;
			break;
		case 'm':
			mult = 60;
			end++;
			break;
		case 'h':
			mult = 3600;
			end++;
			break;
		case 'd':
			mult = 86400;
			end++;
			break;
		default:
			break;
		}
	}
	if (end == v || *end != '\0' || !g_ascii_isdigit(*v) || n == 0 ||
	    n > G_MAXUINT32) {
		fail(l,
		     "%s = %s: expected a duration such as 3600, 90m, 2h "
		     "or 1d",
		     key, v);
		g_free(v);
		return -1;
	}
	*out = n * mult;
	g_free(v);
	return 0;
}

/* A duration that may be shorter than a second: milliseconds with "ms",
 * else as get_duration() (a bare number is seconds). 0 is allowed. Stored
 * in milliseconds, at most a day. */
static int
get_duration_ms(struct loader *l, const char *key, guint *out)
{
	g_autofree char *v = get_string(l, key);
	char *end = NULL;
	guint64 n, mult = 1000;

	if (v == NULL)
		return 0;
	n = g_ascii_strtoull(v, &end, 10);
	if (end != v && g_str_equal(end, "ms")) {
		mult = 1;
		end += 2;
	} else if (end != v && end[0] != '\0' && end[1] == '\0') {
		switch (*end) {
		case 's':
			end++;
			break;
		case 'm':
			mult = 60 * 1000;
			end++;
			break;
		case 'h':
			mult = 3600 * 1000;
			end++;
			break;
		default:
			break;
		}
	}
	if (end == v || *end != '\0' || !g_ascii_isdigit(*v) ||
	    n > 86400ull * 1000 || n * mult > 86400ull * 1000) {
		fail(l,
		     "%s = %s: expected a duration such as 500ms, 10 or 2m, "
		     "at most a day",
		     key, v);
		return -1;
	}
	*out = (guint)(n * mult);
	return 0;
}

/* A whole number in [MIN, MAX]; unchanged when the key is absent. */
static int
get_uint(struct loader *l, const char *key, guint min, guint max, guint *out)
{
	char *v = get_string(l, key), *end = NULL;
	guint64 n;

	if (v == NULL)
		return 0;
	n = g_ascii_strtoull(v, &end, 10);
	if (end == v || *end != '\0' || !g_ascii_isdigit(*v) || n < min ||
	    n > max) {
		fail(l, "%s = %s: expected a whole number from %u to %u", key,
		     v, min, max);
		g_free(v);
		return -1;
	}
	*out = (guint)n;
	g_free(v);
	return 0;
}

static int
load_sync(struct loader *l)
{
	struct config *cfg = l->cfg;

	cfg->max_parallel = 8;
	cfg->connect_timeout = 10;
	cfg->timeout = 60;
	cfg->retries = 2;
	cfg->retry_backoff_ms = 500;
	cfg->max_response_size = 16 * 1024 * 1024;
	cfg->max_shrink = 50;
	cfg->bounce_threshold = 5;
	cfg->hold_days = 14;
	cfg->bounce_window = 30 * 86400;
	if (get_uint(l, "max_parallel", 1, 256, &cfg->max_parallel) < 0 ||
	    get_duration(l, "connect_timeout", &cfg->connect_timeout) < 0 ||
	    get_duration(l, "timeout", &cfg->timeout) < 0 ||
	    get_uint(l, "retries", 0, 10, &cfg->retries) < 0 ||
	    get_duration_ms(l, "retry_backoff", &cfg->retry_backoff_ms) < 0 ||
	    get_size(l, "max_response_size", &cfg->max_response_size) < 0 ||
	    get_uint(l, "max_shrink", 0, 100, &cfg->max_shrink) < 0 ||
	    get_path(l, "ca_file", NULL, &cfg->ca_file) < 0 ||
	    get_path(l, "archive_dir", NULL, &cfg->archive_dir) < 0 ||
	    get_uint(l, "bounce_threshold", 1, 1000, &cfg->bounce_threshold) <
		    0 ||
	    get_uint(l, "hold_days", 1, 365, &cfg->hold_days) < 0 ||
	    get_duration(l, "bounce_window", &cfg->bounce_window) < 0)
		return -1;
	if (cfg->max_response_size == 0)
		return fail(l, "max_response_size must not be 0");
	return 0;
}

/* One network of app_networks in Postfix's mynetworks notation:
 * "192.0.2.10", "192.0.2.0/24", "[2001:db8::10]", "[2001:db8::]/64". */
static GInetAddressMask *
parse_network(const char *text)
{
	g_autofree char *plain = g_strdup(text);
	char *close;

	if (plain[0] == '[') {
		/* an IPv6 address in brackets, the prefix length after them */
		close = strchr(plain, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != '/'))
			return NULL;
		memmove(close, close + 1, strlen(close + 1) + 1);
		memmove(plain, plain + 1, strlen(plain));
	}
	return g_inet_address_mask_new_from_string(plain, NULL);
}

/* app_networks: where the M2S app submits from (the policy service lets it
 * use the reserved noreply@ senders). Separated by spaces, commas or ';'. */
static int
load_app_networks(struct loader *l)
{
	struct config *cfg = l->cfg;
	g_autofree char *v = get_string(l, "app_networks");
	g_auto(GStrv) words = NULL;

	cfg->app_networks = g_ptr_array_new_with_free_func(g_object_unref);
	if (v == NULL)
		return 0;
	words = g_regex_split_simple("[\\s,;]+", v, 0, 0);
	for (char **w = words; *w != NULL; w++) {
		GInetAddressMask *m;

		if (**w == '\0')
			continue;
		m = parse_network(*w);
		if (m == NULL)
			return fail(
				l,
				"app_networks: '%s' is not a network "
				"(write 192.0.2.10, 192.0.2.0/24 or "
				"[2001:db8::]/64; tables and host names are "
				"not supported)",
				*w);
		g_ptr_array_add(cfg->app_networks, m);
	}
	return 0;
}

static int
load_postfix(struct loader *l)
{
	struct config *cfg = l->cfg;

	cfg->sync_max_age = 3600;
	if (get_path(l, "postfix_dir", NULL, &cfg->postfix_dir) < 0 ||
	    get_path(l, "postmap", "/usr/sbin/postmap", &cfg->postmap) < 0 ||
	    get_path(l, "postconf", "/usr/sbin/postconf", &cfg->postconf) < 0 ||
	    get_path(l, "postfix_config_dir", NULL, &cfg->postfix_config_dir) <
		    0 ||
	    get_duration(l, "sync_max_age", &cfg->sync_max_age) < 0 ||
	    get_path(l, "opendkim_config", "/etc/opendkim.conf",
		     &cfg->opendkim_config) < 0)
		return -1;
	cfg->app_login = get_string(l, "app_login");
	if (cfg->app_login == NULL)
		cfg->app_login = g_strdup("m2s");
	if (strpbrk(cfg->app_login, " \t,") != NULL ||
	    has_control(cfg->app_login))
		return fail(l, "app_login = %s: no spaces or commas allowed",
			    cfg->app_login);
	cfg->authserv_id = get_string(l, "authserv_id");
	if (cfg->authserv_id != NULL &&
	    (strpbrk(cfg->authserv_id, " \t;()\"=") != NULL ||
	     has_control(cfg->authserv_id)))
		return fail(l,
			    "authserv_id = %s: one word, as the verifier "
			    "writes it (OpenDKIM's AuthservID)",
			    cfg->authserv_id);
	return load_app_networks(l);
}

/* A DKIM selector (RFC 6376 3.1): dot-separated labels of letters, digits
 * and inner hyphens; at most 63 characters, to leave room for the date
 * that a rotation adds. */
static gboolean
selector_ok(const char *s)
{
	char **labels = g_strsplit(s, ".", -1);
	gboolean ok = *s != '\0' && strlen(s) <= 63;

	for (char **p = labels; ok && *p != NULL; p++) {
		size_t n = strlen(*p);

		ok = n > 0 && (*p)[0] != '-' && (*p)[n - 1] != '-';
		for (size_t i = 0; ok && i < n; i++)
			ok = g_ascii_isalnum((*p)[i]) || (*p)[i] == '-';
	}
	g_strfreev(labels);
	return ok;
}

/* mail_host, relay_spf, dmarc_rua: what soarlist dns publishes. */
static int
load_dns(struct loader *l)
{
	struct config *cfg = l->cfg;
	g_autofree char *rua = NULL;
	g_autofree char *probe = NULL;

	cfg->mail_host = get_string(l, "mail_host");
	if (cfg->mail_host != NULL) {
		g_autofree char *lower = g_ascii_strdown(cfg->mail_host, -1);

		probe = g_strconcat("x@", lower, NULL);
		if (!address_is_valid(probe) || strchr(lower, '.') == NULL)
			return fail(l,
				    "mail_host = %s: the mail server's "
				    "fully qualified host name",
				    cfg->mail_host);
		g_free(cfg->mail_host);
		cfg->mail_host = g_steal_pointer(&lower);
	}
	cfg->relay_spf = get_string(l, "relay_spf");
	if (cfg->relay_spf != NULL &&
	    (strpbrk(cfg->relay_spf, "\"\\") != NULL ||
	     has_control(cfg->relay_spf)))
		return fail(l,
			    "relay_spf = %s: SPF mechanisms separated by "
			    "spaces (include:spf.smtp2go.com)",
			    cfg->relay_spf);
	rua = get_string(l, "dmarc_rua");
	if (rua != NULL) {
		const char *why = NULL;

		cfg->dmarc_rua = address_normalize(rua, &why);
		if (cfg->dmarc_rua == NULL)
			return fail(l, "dmarc_rua = %s: %s", rua, why);
	}
	return 0;
}

static int
load_dkim(struct loader *l)
{
	struct config *cfg = l->cfg;

	if (get_path(l, "dkim_dir", "/etc/soarlist/dkim", &cfg->dkim_dir) < 0)
		return -1;
	cfg->dkim_selector = get_string(l, "dkim_selector");
	if (cfg->dkim_selector == NULL)
		cfg->dkim_selector = g_strdup("m2s");
	if (!selector_ok(cfg->dkim_selector))
		return fail(l,
			    "dkim_selector = %s: letters, digits and inner "
			    "hyphens, in labels separated by dots, at most 63 "
			    "characters",
			    cfg->dkim_selector);
	if (load_dns(l) < 0)
		return -1;
	cfg->dkim_group = get_string(l, "dkim_group");
	if (cfg->dkim_group == NULL)
		cfg->dkim_group = g_strdup("opendkim");
	if (*cfg->dkim_group == '\0' ||
	    strpbrk(cfg->dkim_group, " \t:,") != NULL ||
	    has_control(cfg->dkim_group))
		return fail(l, "dkim_group = %s: a group name",
			    cfg->dkim_group);
	return 0;
}

/* require_auth and unauthenticated_action of a club or a list: left at
 * INHERIT when absent. */
static int
get_auth_settings(struct loader *l, enum require_auth *require,
		  enum unauth_action *action)
{
	static const char *const requires[] = { "none", "dmarc", NULL };
	static const char *const actions[] = { "hold", "reject", NULL };
	int r = -1, a = -1;

	if (get_choice(l, "require_auth", requires, &r) < 0 ||
	    get_choice(l, "unauthenticated_action", actions, &a) < 0)
		return -1;
	if (r >= 0)
		*require = (enum require_auth)(r + 1);
	if (a >= 0)
		*action = (enum unauth_action)(a + 1);
	return 0;
}

/* verp of the [soarlist] group, a club or a list: left alone when
 * absent. */
static int
get_verp(struct loader *l, enum verp_mode *verp)
{
	static const char *const modes[] = { "probe", "always", "never", NULL };
	int v = -1;

	if (get_choice(l, "verp", modes, &v) < 0)
		return -1;
	if (v >= 0)
		*verp = (enum verp_mode)(v + 1);
	return 0;
}

/* state of a club: active unless the file says suspended. */
static int
get_club_state(struct loader *l, enum club_state *state)
{
	static const char *const states[] = { "active", "suspended", NULL };
	int v = CLUB_ACTIVE;

	if (get_choice(l, "state", states, &v) < 0)
		return -1;
	*state = (enum club_state)v;
	return 0;
}

static int
load_global(struct loader *l)
{
	struct config *cfg = l->cfg;
	char *v;

	l->group = "soarlist";
	if (!g_key_file_has_group(l->kf, "soarlist"))
		return fail(l, "missing");
	check_keys(l, global_keys);
	cfg->database = get_string(l, "database");
	if (cfg->database == NULL)
		cfg->database = g_strdup("/var/lib/soarlist/soarlist.db");
	cfg->sendmail = get_string(l, "sendmail");
	if (cfg->sendmail == NULL)
		cfg->sendmail = g_strdup("/usr/sbin/sendmail");
	if (!g_path_is_absolute(cfg->sendmail))
		return fail(l, "sendmail = %s: must be an absolute path",
			    cfg->sendmail);
	cfg->sendmail_timeout = 300;
	if (get_duration(l, "sendmail_timeout", &cfg->sendmail_timeout) < 0)
		return -1;
	cfg->busy_timeout_ms = DB_BUSY_TIMEOUT_MS;
	if (get_duration_ms(l, "busy_timeout", &cfg->busy_timeout_ms) < 0)
		return -1;
	v = get_string(l, "admin");
	cfg->admin = v ? admin_address(v) : g_strdup("postmaster");
	if (cfg->admin == NULL) {
		fail(l, "admin = %s: not a valid address", v);
		g_free(v);
		return -1;
	}
	g_free(v);
	v = get_string(l, "dev_redirect");
	if (v != NULL) {
		const char *why = NULL;
		cfg->dev_redirect = address_normalize(v, &why);
		if (cfg->dev_redirect == NULL) {
			fail(l, "dev_redirect = %s: %s", v, why);
			g_free(v);
			return -1;
		}
		g_free(v);
	}
	cfg->api_key_file = get_string(l, "api_key_file");
	cfg->log_file = get_string(l, "log_file");
	cfg->spool_dir = get_string(l, "spool_dir");
	cfg->verp = VERP_PROBE;
	if (get_verp(l, &cfg->verp) < 0 || load_sync(l) < 0)
		return -1;
	if (load_postfix(l) < 0)
		return -1;
	return load_dkim(l);
}

static gboolean
slug_ok(const char *slug)
{
	if (*slug == '\0' || strlen(slug) > 64 || slug[0] == '-')
		return FALSE;
	for (const char *p = slug; *p; p++)
		if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '-' &&
		    *p != '_')
			return FALSE;
	return TRUE;
}

static void
club_free(gpointer p)
{
	struct club_config *c = p;

	g_free(c->slug);
	g_free(c->name);
	g_free(c->api_url);
	g_free(c->api_key_file);
	g_strfreev(c->domains);
	g_strfreev(c->owners);
	g_free(c);
}

/* KEY as a ';'-separated list of valid addresses, normalised; *out stays
 * NULL when the key is absent. */
static int
get_addresses(struct loader *l, const char *key, char ***out)
{
	gsize n = 0;
	char **v = g_key_file_get_string_list(l->kf, l->group, key, &n, NULL);
	GPtrArray *a;

	if (v == NULL)
		return 0;
	a = g_ptr_array_new();
	for (gsize i = 0; i < n; i++) {
		const char *why = NULL;
		char *addr = address_normalize(g_strstrip(v[i]), &why);

		if (addr == NULL) {
			fail(l, "%s: '%s' is not a valid address: %s", key,
			     v[i], why);
			g_ptr_array_set_free_func(a, g_free);
			g_ptr_array_unref(a);
			g_strfreev(v);
			return -1;
		}
		g_ptr_array_add(a, addr);
	}
	g_strfreev(v);
	if (a->len == 0) {
		g_ptr_array_unref(a);
		return fail(l, "%s is empty", key);
	}
	g_ptr_array_add(a, NULL);
	*out = (char **)g_ptr_array_free(a, FALSE);
	return 0;
}

static int
load_domains(struct loader *l, struct club_config *c)
{
	gsize n = 0;
	char **d = g_key_file_get_string_list(l->kf, l->group, "domains", &n,
					      NULL);
	GPtrArray *out = g_ptr_array_new();

	for (gsize i = 0; d != NULL && i < n; i++) {
		char *dom = g_ascii_strdown(g_strstrip(d[i]), -1);
		char *probe = g_strconcat("x@", dom, NULL);

		if (*dom == '\0' || !address_is_valid(probe)) {
			fail(l, "domains: '%s' is not a valid domain", d[i]);
			g_free(probe);
			g_free(dom);
			goto fail;
		}
		g_free(probe);
		if (g_hash_table_contains(l->cfg->domain_club, dom)) {
			fail(l, "domains: %s is already served by another club",
			     dom);
			g_free(dom);
			goto fail;
		}
		g_hash_table_insert(l->cfg->domain_club, g_strdup(dom), c);
		g_ptr_array_add(out, dom);
	}
	if (out->len == 0) {
		fail(l, "domains is missing or empty");
		goto fail;
	}
	g_ptr_array_add(out, NULL);
	c->domains = (char **)g_ptr_array_free(out, FALSE);
	g_strfreev(d);
	return 0;
fail:
	g_ptr_array_set_free_func(out, g_free);
	g_ptr_array_unref(out);
	g_strfreev(d);
	return -1;
}

static int
load_club(struct loader *l, const char *slug)
{
	struct club_config *c;

	if (!slug_ok(slug))
		return fail(l,
			    "club slug '%s' must be lowercase letters, "
			    "digits, '-' or '_'",
			    slug);
	if (config_club_by_slug(l->cfg, slug) != NULL)
		return fail(l, "club '%s' defined twice", slug);
	check_keys(l, club_keys);
	c = g_new0(struct club_config, 1);
	c->slug = g_strdup(slug);
	g_ptr_array_add(l->cfg->clubs, c);
	c->name = get_string(l, "name");
	if (c->name == NULL)
		c->name = g_strdup(slug);
	if (has_control(c->name) || !g_utf8_validate(c->name, -1, NULL))
		return fail(l, "name contains control characters or bad UTF-8");
	c->api_url = get_string(l, "api_url");
	if (c->api_url == NULL)
		return fail(l, "api_url is missing");
	if (!g_str_has_prefix(c->api_url, "https://") &&
	    !g_str_has_prefix(c->api_url, "http://") &&
	    !g_str_has_prefix(c->api_url, "file://"))
		return fail(l,
			    "api_url = %s: must start with https://, http:// "
			    "or file://",
			    c->api_url);
	c->api_key_file = get_string(l, "api_key_file");
	if (get_addresses(l, "owners", &c->owners) < 0 ||
	    get_auth_settings(l, &c->require_auth, &c->unauthenticated_action) <
		    0 ||
	    get_verp(l, &c->verp) < 0 || get_club_state(l, &c->state) < 0)
		return -1;
	if (c->verp == VERP_INHERIT)
		c->verp = l->cfg->verp;
	if (c->require_auth == REQUIRE_AUTH_INHERIT)
		c->require_auth = REQUIRE_AUTH_NONE;
	if (c->unauthenticated_action == UNAUTH_INHERIT)
		c->unauthenticated_action = UNAUTH_HOLD;
	return load_domains(l, c);
}

static struct list_settings *
settings_new_default(void)
{
	struct list_settings *s = g_new0(struct list_settings, 1);

	s->from_rewrite = TRUE;
	return s;
}

static void
settings_free(gpointer p)
{
	struct list_settings *s = p;

	g_free(s->subject_prefix);
	g_free(s->display_name);
	g_free(s->list_unsubscribe);
	g_free(s->footer);
	g_strfreev(s->owners);
	g_free(s);
}

static int
get_text(struct loader *l, const char *key, char **out)
{
	char *v = get_string(l, key);

	if (v != NULL && (has_control(v) || !g_utf8_validate(v, -1, NULL))) {
		g_free(v);
		return fail(l, "%s contains control characters or bad UTF-8",
			    key);
	}
	*out = v;
	return 0;
}

/* The footer: text over several lines (GKeyFile's \n escape), no other
 * control characters. */
static int
get_footer(struct loader *l, char **out)
{
	char *v = g_key_file_get_string(l->kf, l->group, "footer", NULL);

	if (v == NULL || *v == '\0') {
		g_free(v);
		return 0;
	}
	for (const char *p = v; *p; p++) {
		if (((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t') ||
		    *p == 0x7f) {
			g_free(v);
			return fail(l, "footer contains control characters");
		}
	}
	if (!g_utf8_validate(v, -1, NULL)) {
		g_free(v);
		return fail(l, "footer is not valid UTF-8");
	}
	*out = v;
	return 0;
}

static int
load_list_values(struct loader *l, struct list_settings *s)
{
	static const char *const posting[] = { "default", "whitelist",
					       "members", "anyone", NULL };
	static const char *const nonmember[] = { "reject", "discard", "hold",
						 NULL };
	static const char *const reply_to[] = { "sender", "list", "none",
						NULL };
	static const char *const from_addr[] = { "bounces", "list", NULL };
	int p = (int)s->posting, n = (int)s->nonmember_action;
	int r = (int)s->reply_to, f = (int)s->from_address;

	if (get_choice(l, "posting", posting, &p) < 0 ||
	    get_choice(l, "nonmember_action", nonmember, &n) < 0 ||
	    get_choice(l, "reply_to", reply_to, &r) < 0 ||
	    get_choice(l, "from_address", from_addr, &f) < 0 ||
	    get_bool(l, "from_rewrite", &s->from_rewrite) < 0 ||
	    get_bool(l, "moderated", &s->moderated) < 0 ||
	    get_size(l, "max_size", &s->max_size) < 0 ||
	    get_text(l, "subject_prefix", &s->subject_prefix) < 0 ||
	    get_text(l, "display_name", &s->display_name) < 0 ||
	    get_text(l, "list_unsubscribe", &s->list_unsubscribe) < 0 ||
	    get_footer(l, &s->footer) < 0 ||
	    get_addresses(l, "owners", &s->owners) < 0 ||
	    get_auth_settings(l, &s->require_auth, &s->unauthenticated_action) <
		    0 ||
	    get_verp(l, &s->verp) < 0)
		return -1;
	s->posting = (enum posting_policy)p;
	s->nonmember_action = (enum nonmember_action)n;
	s->reply_to = (enum reply_to_mode)r;
	s->from_address = (enum from_address)f;
	if (s->list_unsubscribe != NULL &&
	    !g_str_has_prefix(s->list_unsubscribe, "https://") &&
	    !g_str_has_prefix(s->list_unsubscribe, "http://") &&
	    !g_str_has_prefix(s->list_unsubscribe, "mailto:"))
		return fail(l,
			    "list_unsubscribe = %s: must be an https://, "
			    "http:// or mailto: URL",
			    s->list_unsubscribe);
	if (s->list_unsubscribe != NULL &&
	    strpbrk(s->list_unsubscribe, " <>\"") != NULL)
		return fail(l, "list_unsubscribe contains spaces, quotes or "
			       "angle brackets");
	return 0;
}

static int
load_list(struct loader *l, const char *id)
{
	const char *slash = strchr(id, '/');
	char *slug;
	struct list_settings *s;

	if (slash == NULL || !recipient_list_name_is_valid(slash + 1))
		return fail(l,
			    "expected [list CLUB/LIST] with a valid list "
			    "name (lowercase letters, digits, '.', '_', '-')");
	slug = g_strndup(id, (gsize)(slash - id));
	if (config_club_by_slug(l->cfg, slug) == NULL) {
		fail(l, "no [club %s] is defined (define the club first)",
		     slug);
		g_free(slug);
		return -1;
	}
	g_free(slug);
	if (g_hash_table_contains(l->cfg->lists, id))
		return fail(l, "defined twice");
	check_keys(l, list_keys);
	s = settings_new_default();
	g_hash_table_insert(l->cfg->lists, g_strdup(id), s);
	return load_list_values(l, s);
}

/* Clubs first (a [list] refers to them), then lists, whatever the order
 * of the groups in the file. */
static int
load_groups(struct loader *l)
{
	gsize n = 0;
	char **groups = g_key_file_get_groups(l->kf, &n);
	int rc = 0;

	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		for (gsize i = 0; i < n && rc == 0; i++) {
			const char *g = groups[i];

			l->group = g;
			if (strcmp(g, "soarlist") == 0)
				continue;
			if (g_str_has_prefix(g, "club ")) {
				if (pass == 0)
					rc = load_club(l, g + 5);
			} else if (g_str_has_prefix(g, "list ")) {
				if (pass == 1)
					rc = load_list(l, g + 5);
			} else if (pass == 0) {
				rc = fail(l,
					  "unknown group (expected [soarlist], "
					  "[club SLUG] or [list SLUG/LIST])");
			}
		}
	}
	g_strfreev(groups);
	l->group = NULL;
	return rc;
}

/* require_auth = dmarc trusts the headers of one verifier: which one
 * must be said, never guessed. */
static int
check_authserv_id(struct loader *l)
{
	const char *who = NULL;
	GHashTableIter it;
	gpointer key, value;

	for (guint i = 0; i < l->cfg->clubs->len && who == NULL; i++) {
		const struct club_config *c = g_ptr_array_index(l->cfg->clubs,
								i);
		if (c->require_auth == REQUIRE_AUTH_DMARC)
			who = c->slug;
	}
	g_hash_table_iter_init(&it, l->cfg->lists);
	while (who == NULL && g_hash_table_iter_next(&it, &key, &value))
		if (((struct list_settings *)value)->require_auth ==
		    REQUIRE_AUTH_DMARC)
			who = key;
	if (who == NULL || l->cfg->authserv_id != NULL)
		return 0;
	l->group = "soarlist";
	return fail(l,
		    "authserv_id is missing: %s has require_auth = dmarc, "
		    "which trusts only the Authentication-Results of this "
		    "server's verifier; set authserv_id to the authserv-id it "
		    "writes (OpenDKIM: AuthservID)",
		    who);
}

struct config *
config_load(const char *path, GError **error)
{
	struct config *cfg = g_new0(struct config, 1);
	struct loader l = { .cfg = cfg, .error = error };
	GError *err = NULL;

	cfg->path = g_strdup(path);
	cfg->clubs = g_ptr_array_new_with_free_func(club_free);
	cfg->domain_club = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	cfg->lists = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   settings_free);
	cfg->warnings = g_ptr_array_new_with_free_func(g_free);
	l.kf = g_key_file_new();
	if (!g_key_file_load_from_file(l.kf, path, G_KEY_FILE_NONE, &err)) {
		/* GKeyFile quotes the line it refuses, whatever its bytes */
		g_autofree char *why = printable_escape(err->message);

		/* a missing or unreadable file is the administrator's to
		 * fix; a read that failed for want of a resource passes */
		gboolean transient = err->domain == G_FILE_ERROR &&
				     (err->code == G_FILE_ERROR_IO ||
				      err->code == G_FILE_ERROR_NOMEM ||
				      err->code == G_FILE_ERROR_MFILE ||
				      err->code == G_FILE_ERROR_NFILE ||
				      err->code == G_FILE_ERROR_INTR ||
				      err->code == G_FILE_ERROR_AGAIN);

		g_set_error(error, CONFIG_ERROR,
			    transient ? CONFIG_ERROR_TRANSIENT
				      : CONFIG_ERROR_INVALID,
			    "%s: %s", path,
			    err->code == G_FILE_ERROR_NOENT ? "no such file"
							    : why);
		g_error_free(err);
		goto fail;
	}
	if (load_global(&l) < 0 || load_groups(&l) < 0 ||
	    check_authserv_id(&l) < 0)
		goto fail;
	g_key_file_free(l.kf);
	return cfg;
fail:
	g_key_file_free(l.kf);
	config_free(&cfg);
	return NULL;
}

void
config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;

	if (cfg == NULL)
		return;
	g_free(cfg->path);
	g_free(cfg->database);
	g_free(cfg->sendmail);
	g_free(cfg->admin);
	g_free(cfg->dev_redirect);
	g_free(cfg->api_key_file);
	g_free(cfg->log_file);
	g_free(cfg->spool_dir);
	g_free(cfg->postfix_dir);
	g_free(cfg->postmap);
	g_free(cfg->postconf);
	g_free(cfg->postfix_config_dir);
	g_free(cfg->opendkim_config);
	g_free(cfg->dkim_dir);
	g_free(cfg->dkim_selector);
	g_free(cfg->dkim_group);
	g_free(cfg->mail_host);
	g_free(cfg->relay_spf);
	g_free(cfg->dmarc_rua);
	g_free(cfg->app_login);
	g_free(cfg->authserv_id);
	if (cfg->app_networks != NULL)
		g_ptr_array_unref(cfg->app_networks);
	g_free(cfg->ca_file);
	g_free(cfg->archive_dir);
	g_ptr_array_unref(cfg->clubs);
	g_hash_table_unref(cfg->domain_club);
	g_hash_table_unref(cfg->lists);
	g_ptr_array_unref(cfg->warnings);
	g_free(cfg);
	*cfgp = NULL;
}

const struct club_config *
config_club_by_domain(const struct config *cfg, const char *domain)
{
	char *d = g_ascii_strdown(domain, -1);
	const struct club_config *c = g_hash_table_lookup(cfg->domain_club, d);

	g_free(d);
	return c;
}

const struct club_config *
config_club_by_slug(const struct config *cfg, const char *slug)
{
	for (guint i = 0; i < cfg->clubs->len; i++) {
		const struct club_config *c = g_ptr_array_index(cfg->clubs, i);
		if (strcmp(c->slug, slug) == 0)
			return c;
	}
	return NULL;
}

void
config_list_settings(const struct config *cfg, const char *slug,
		     const char *list, struct list_settings *settings_r)
{
	char *key = g_strconcat(slug, "/", list, NULL);
	const struct list_settings *s = g_hash_table_lookup(cfg->lists, key);
	const struct club_config *club;

	g_free(key);
	memset(settings_r, 0, sizeof(*settings_r));
	settings_r->from_rewrite = TRUE;
	if (s != NULL)
		*settings_r = *s;
	club = config_club_by_slug(cfg, slug);
	if (settings_r->require_auth == REQUIRE_AUTH_INHERIT)
		settings_r->require_auth = club ? club->require_auth
						: REQUIRE_AUTH_NONE;
	if (settings_r->unauthenticated_action == UNAUTH_INHERIT)
		settings_r->unauthenticated_action =
			club ? club->unauthenticated_action : UNAUTH_HOLD;
	if (settings_r->verp == VERP_INHERIT)
		settings_r->verp = club ? club->verp : cfg->verp;
}

const char *
club_state_name(enum club_state s)
{
	return s == CLUB_SUSPENDED ? "suspended" : "active";
}

const char *
verp_mode_name(enum verp_mode v)
{
	switch (v) {
	case VERP_ALWAYS:
		return "always";
	case VERP_NEVER:
		return "never";
	case VERP_PROBE:
	case VERP_INHERIT:
		break;
	}
	return "probe";
}

const char *
require_auth_name(enum require_auth r)
{
	return r == REQUIRE_AUTH_DMARC ? "dmarc" : "none";
}

const char *
unauth_action_name(enum unauth_action a)
{
	return a == UNAUTH_REJECT ? "reject" : "hold";
}

const char *
posting_policy_name(enum posting_policy p)
{
	switch (p) {
	case POSTING_WHITELIST:
		return "whitelist";
	case POSTING_MEMBERS:
		return "members";
	case POSTING_ANYONE:
		return "anyone";
	case POSTING_DEFAULT:
		break;
	}
	return "default";
}

const char *
nonmember_action_name(enum nonmember_action a)
{
	switch (a) {
	case NONMEMBER_DISCARD:
		return "discard";
	case NONMEMBER_HOLD:
		return "hold";
	case NONMEMBER_REJECT:
		break;
	}
	return "reject";
}

gboolean
config_is_app_client(const struct config *cfg, const char *client_address)
{
	g_autoptr(GInetAddress) a = NULL;

	if (client_address == NULL || cfg->app_networks == NULL ||
	    cfg->app_networks->len == 0)
		return FALSE;
	a = g_inet_address_new_from_string(client_address);
	if (a == NULL)
		return FALSE;
	for (guint i = 0; i < cfg->app_networks->len; i++)
		if (g_inet_address_mask_matches(
			    g_ptr_array_index(cfg->app_networks, i), a))
			return TRUE;
	return FALSE;
}
