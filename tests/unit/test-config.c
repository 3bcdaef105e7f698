/* test-config.c - config_load on files in a scratch directory: the
 * DESIGN.md example, defaults, per-list settings, invalid values (an error
 * naming the file), unknown keys (a warning only), and config_path. */
#include "soarlist/config.h"

#include "soarlist-build.h"
#include "unit.h"

static char *tmpdir;

/* DESIGN.md's example, verbatim */
static const char design_example[] =
	"[soarlist]\n"
	"# SQLite file; created by `soarlist` on first use\n"
	"database = /var/lib/soarlist/soarlist.db\n"
	"# program used to reinject\n"
	"sendmail = /usr/sbin/sendmail\n"
	"# fallback owner, bounce reports\n"
	"admin = postmaster@manage2soar.com\n"
	"# non-empty: every list copy goes only here (the dev-mode safety valve)\n"
	"dev_redirect =\n"
	"# used by clubs that name none (M2S shares one key today)\n"
	"api_key_file = /etc/soarlist/keys/default\n\n"
	"# \"club\" + space + slug\n"
	"[club ssc]\n"
	"name = Skyline Soaring Club\n"
	"# https:// in production; file:// works too (no key then)\n"
	"api_url = https://ssc.manage2soar.com/api/email-lists/\n"
	"api_key_file = /etc/soarlist/keys/ssc\n"
	"# GKeyFile list: separated by ';'\n"
	"domains = ssc.manage2soar.com;skylinesoaring.org\n\n"
	"# optional per-list overrides: \"list\" + space + club/list\n"
	"[list ssc/board]\n"
	"nonmember_action = hold\n";

static struct config *
load(const char *name, const char *text, char **path_r, GError **error)
{
	*path_r = unit_write(tmpdir, name, text);
	return config_load(*path_r, error);
}

static void
test_design_example(void)
{
	GError *err = NULL;
	char *path, *doms;
	struct config *cfg = load("design.conf", design_example, &path, &err);
	const struct club_config *c;
	struct list_settings s;

	g_assert_no_error(err);
	check_str(cfg->database, "/var/lib/soarlist/soarlist.db", "database");
	check_str(cfg->sendmail, "/usr/sbin/sendmail", "sendmail");
	check_str(cfg->admin, "postmaster@manage2soar.com", "admin");
	check_str(cfg->dev_redirect, NULL, "dev_redirect (empty)");
	check_str(cfg->api_key_file, "/etc/soarlist/keys/default",
		  "api_key_file");
	check_int(cfg->warnings->len, 0, "warnings");
	c = config_club_by_slug(cfg, "ssc");
	g_assert_nonnull(c);
	check_int(cfg->clubs->len, 1, "clubs");
	check_str(c->name, "Skyline Soaring Club", "club name");
	check_str(c->api_url, "https://ssc.manage2soar.com/api/email-lists/",
		  "api_url");
	check_str(c->api_key_file, "/etc/soarlist/keys/ssc", "club key file");
	doms = g_strjoinv(";", c->domains);
	check_str(doms, "ssc.manage2soar.com;skylinesoaring.org", "domains");
	g_free(doms);
	check_int(config_club_by_domain(cfg, "SkylineSoaring.ORG") == c, TRUE,
		  "config_club_by_domain(SkylineSoaring.ORG) is ssc");
	check_int(config_club_by_domain(cfg, "manage2soar.com") == NULL, TRUE,
		  "config_club_by_domain(manage2soar.com) is NULL");
	config_list_settings(cfg, "ssc", "board", &s);
	check_str(nonmember_action_name(s.nonmember_action), "hold",
		  "ssc/board nonmember_action");
	check_str(posting_policy_name(s.posting), "default",
		  "ssc/board posting");
	/* defaults of a list without a [list] group */
	config_list_settings(cfg, "ssc", "members", &s);
	check_str(posting_policy_name(s.posting), "default", "posting");
	check_str(nonmember_action_name(s.nonmember_action), "reject",
		  "nonmember_action");
	check_int(s.reply_to, REPLY_TO_SENDER, "reply_to");
	check_int(s.from_rewrite, TRUE, "from_rewrite");
	check_int(s.from_address, FROM_ADDRESS_BOUNCES, "from_address");
	check_str(s.subject_prefix, NULL, "subject_prefix");
	check_str(s.list_unsubscribe, NULL, "list_unsubscribe");
	check_int((gint64)s.max_size, 0, "max_size");
	config_free(&cfg);
	check_int(cfg == NULL, TRUE, "pointer NULL after config_free");
	g_free(path);
}

#define CLUB \
	"[club ssc]\napi_url = file:///srv/ssc.json\n" \
	"domains = SSC.example.org ; skyline.example.org\n"

/* Global defaults, every per-list key, a [list] before its club, and
 * unknown keys, which are only warnings. */
static void
test_settings(void)
{
	static const char text[] =
		"[list ssc/members]\nposting = members\n"
		"nonmember_action = discard\nreply_to = list\n"
		"subject_prefix = [SSC]\ndisplay_name = Skyline Members\n"
		"from_rewrite = no\nfrom_address = list\n"
		"list_unsubscribe = https://ssc.manage2soar.com/unsubscribe\n"
		"max_size = 10M\nmoderators = x\n"
		"[soarlist]\ndev_redirect = Dev@Example.ORG\ncolour = blue\n" CLUB
		"flavour = mint\n"
		"[list ssc/board]\nposting = Anyone\nreply_to = none\n"
		"from_rewrite = true\nmax_size = 512k\n";
	GError *err = NULL;
	char *path, *doms, *warnings;
	struct config *cfg = load("lists.conf", text, &path, &err);
	struct list_settings s;

	g_assert_no_error(err);
	check_str(cfg->database, "/var/lib/soarlist/soarlist.db", "database");
	check_str(cfg->sendmail, "/usr/sbin/sendmail", "sendmail");
	check_str(cfg->admin, "postmaster", "admin");
	check_int((gint64)cfg->sendmail_timeout, 300, "sendmail_timeout");
	check_int(cfg->busy_timeout_ms, 10000, "busy_timeout");
	check_int(cfg->retry_backoff_ms, 500, "retry_backoff");
	check_str(cfg->dev_redirect, "Dev@example.org", "dev_redirect");
	doms = g_strjoinv(
		";", ((struct club_config *)g_ptr_array_index(cfg->clubs, 0))
			     ->domains);
	check_str(doms, "ssc.example.org;skyline.example.org", "domains");
	g_free(doms);
	config_list_settings(cfg, "ssc", "members", &s);
	check_str(posting_policy_name(s.posting), "members", "posting");
	check_str(nonmember_action_name(s.nonmember_action), "discard",
		  "nonmember_action");
	check_int(s.reply_to, REPLY_TO_LIST, "reply_to");
	check_str(s.subject_prefix, "[SSC]", "subject_prefix");
	check_str(s.display_name, "Skyline Members", "display_name");
	check_int(s.from_rewrite, FALSE, "from_rewrite");
	check_int(s.from_address, FROM_ADDRESS_LIST, "from_address");
	check_str(s.list_unsubscribe, "https://ssc.manage2soar.com/unsubscribe",
		  "list_unsubscribe");
	check_int((gint64)s.max_size, 10 * 1024 * 1024, "max_size");
	config_list_settings(cfg, "ssc", "board", &s);
	check_str(posting_policy_name(s.posting), "anyone", "board posting");
	check_int(s.reply_to, REPLY_TO_NONE, "board reply_to");
	check_int((gint64)s.max_size, 512 * 1024, "board max_size");
	check_int(cfg->warnings->len, 3, "warnings");
	g_ptr_array_add(cfg->warnings, NULL);
	warnings = g_strjoinv("\n", (char **)cfg->warnings->pdata);
	check_contains(warnings, path, "warnings");
	check_contains(warnings, "colour", "warnings");
	check_contains(warnings, "flavour", "warnings");
	check_contains(warnings, "moderators", "warnings");
	g_free(warnings);
	g_ptr_array_set_size(cfg->warnings, cfg->warnings->len - 1);
	config_free(&cfg);
	g_free(path);
}

/* dkim_dir, dkim_selector, dkim_group, mail_host, relay_spf, dmarc_rua:
 * their defaults, and values as given. */
static void
test_dkim_dns(void)
{
	g_autofree char *path = NULL, *path2 = NULL;
	GError *err = NULL;
	struct config *cfg = load("dkim.conf", "[soarlist]\n", &path, &err);

	g_assert_no_error(err);
	check_str(cfg->dkim_dir, "/etc/soarlist/dkim", "dkim_dir");
	check_str(cfg->dkim_selector, "m2s", "dkim_selector");
	check_str(cfg->dkim_group, "opendkim", "dkim_group");
	check_int(cfg->mail_host == NULL, 1, "mail_host unset");
	check_int(cfg->relay_spf == NULL && cfg->dmarc_rua == NULL, 1,
		  "relay_spf, dmarc_rua unset");
	config_free(&cfg);
	cfg = load("dkim2.conf",
		   "[soarlist]\ndkim_dir = /srv/dkim\n"
		   "dkim_selector = m2s.v2\ndkim_group = dkim\n"
		   "mail_host = Mail.Manage2Soar.com\n"
		   "relay_spf = include:spf.smtp2go.com\n"
		   "dmarc_rua = DMARC@Manage2Soar.com\n",
		   &path2, &err);
	g_assert_no_error(err);
	check_str(cfg->dkim_dir, "/srv/dkim", "dkim_dir");
	check_str(cfg->dkim_selector, "m2s.v2", "dkim_selector");
	check_str(cfg->dkim_group, "dkim", "dkim_group");
	check_str(cfg->mail_host, "mail.manage2soar.com", "mail_host");
	check_str(cfg->relay_spf, "include:spf.smtp2go.com", "relay_spf");
	check_str(cfg->dmarc_rua, "DMARC@manage2soar.com", "dmarc_rua");
	config_free(&cfg);
}

/* The waits the suite shortens: sendmail_timeout, busy_timeout and
 * retry_backoff, in each unit they accept. */
static void
test_waits(void)
{
	static const struct {
		const char *text;
		guint64 sendmail_s;
		guint busy_ms, backoff_ms;
	} cases[] = {
		{ "sendmail_timeout = 2m\nbusy_timeout = 250ms\n"
		  "retry_backoff = 0\n",
		  120, 250, 0 },
		{ "sendmail_timeout = 45\nbusy_timeout = 3\n"
		  "retry_backoff = 2s\n",
		  45, 3000, 2000 },
		{ "busy_timeout = 1m\nretry_backoff = 10ms\n", 300, 60000, 10 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = g_strconcat("[soarlist]\n",
						    cases[i].text, NULL);
		g_autofree char *path = NULL;
		GError *err = NULL;
		struct config *cfg = load("waits.conf", text, &path, &err);

		g_assert_no_error(err);
		check_int((gint64)cfg->sendmail_timeout, cases[i].sendmail_s,
			  "sendmail_timeout");
		check_int(cfg->busy_timeout_ms, cases[i].busy_ms,
			  "busy_timeout");
		check_int(cfg->retry_backoff_ms, cases[i].backoff_ms,
			  "retry_backoff");
		config_free(&cfg);
	}
}

#define G "[soarlist]\n"
#define L G CLUB "[list ssc/board]\n"

static const struct {
	const char *text, *want; /* WANT: in the message after "PATH: " */
} bad_cases[] = {
	{ "", "[soarlist]" },
	{ "this is not an INI file\n", "" },
	{ G "sendmail = sendmail\n", "sendmail" },
	{ G "admin = not an address\n", "admin" },
	{ G "sendmail_timeout = 0\n", "sendmail_timeout" },
	{ G "sendmail_timeout = 5ms\n", "sendmail_timeout" },
	{ G "busy_timeout = 2d\n", "busy_timeout" },
	{ G "busy_timeout = -1\n", "busy_timeout" },
	{ G "retry_backoff = 25h\n", "retry_backoff" },
	{ G "retry_backoff = 1.5s\n", "retry_backoff" },
	{ G "dev_redirect = a@example.org, b@example.org\n", "dev_redirect" },
	{ G "[club SSC]\napi_url = file:///x\ndomains = x.org\n", "SSC" },
	{ G "[club ssc]\ndomains = x.org\n", "api_url" },
	{ G "[club ssc]\napi_url = ftp://x.org/l\ndomains = x.org\n",
	  "api_url" },
	{ G "[club ssc]\napi_url = file:///x\n", "domains" },
	{ G "[club ssc]\napi_url = file:///x\ndomains = bad domain.org\n",
	  "bad domain.org" },
	{ G "[club a]\napi_url = file:///x\ndomains = x.org\n"
	    "[club b]\napi_url = file:///y\ndomains = y.org;X.ORG\n",
	  "x.org" },
	{ G "[club ssc]\nname = A\\nB\napi_url = file:///x\ndomains = x.org\n",
	  "name" },
	{ G "[list ssc/board]\nposting = members\n", "ssc" },
	{ G CLUB "[list ssc/Board]\nposting = members\n", "ssc/Board" },
	{ G CLUB "[lists ssc/board]\n", "lists ssc/board" },
	{ L "posting = sometimes\n", "posting" },
	{ L "nonmember_action = bounce\n", "nonmember_action" },
	/* DESIGN.md: a comment after a value is part of the value */
	{ L "nonmember_action = hold # moderated\n", "nonmember_action" },
	{ L "reply_to = everyone\n", "reply_to" },
	{ L "from_address = me\n", "from_address" },
	{ L "from_rewrite = maybe\n", "from_rewrite" },
	{ L "max_size = 10X\n", "max_size" },
	{ L "max_size = -1\n", "max_size" },
	{ L "max_size = 99999999999999G\n", "max_size" },
	{ L "list_unsubscribe = ftp://x.org/u\n", "list_unsubscribe" },
	{ L "list_unsubscribe = https://x.org/a b\n", "list_unsubscribe" },
	{ L "subject_prefix = [SSC]\\r\\nBcc: x@y.org\n", "subject_prefix" },
	{ L "require_auth = dkim\n", "require_auth" },
	{ L "unauthenticated_action = discard\n", "unauthenticated_action" },
	{ L "require_auth = dmarc\n", "authserv_id is missing: ssc/board" },
	{ G "[club ssc]\napi_url = file:///x\ndomains = x.org\n"
	    "require_auth = dmarc\n",
	  "authserv_id is missing: ssc has" },
	{ G "authserv_id = mx.example.org; evil\n", "authserv_id" },
	{ G "authserv_id = mx example\n", "authserv_id" },
	{ G "dkim_dir = dkim\n", "dkim_dir" },
	{ G "dkim_selector = -m2s\n", "dkim_selector" },
	{ G "dkim_selector = m2s..x\n", "dkim_selector" },
	{ G "dkim_selector = m2s_2026\n", "dkim_selector" },
	{ G "dkim_group = open dkim\n", "dkim_group" },
	{ G "mail_host = localhost\n", "mail_host" },
	{ G "mail_host = mail example.org\n", "mail_host" },
	{ G "relay_spf = include:x.org\" ~all\n", "relay_spf" },
	{ G "dmarc_rua = reports\n", "dmarc_rua" },
};

/* require_auth and unauthenticated_action: a club's are its lists'
 * defaults, a [list] overrides them, and the defaults are none and
 * hold. */
static void
test_auth_settings(void)
{
	static const char text[] =
		"[soarlist]\nauthserv_id = mx.example.org\n" CLUB
		"require_auth = dmarc\nunauthenticated_action = reject\n"
		"[club other]\napi_url = file:///x\ndomains = other.org\n"
		"[list ssc/open]\nrequire_auth = none\n"
		"[list ssc/held]\nunauthenticated_action = hold\n"
		"[list other/strict]\nrequire_auth = dmarc\n";
	static const struct {
		const char *slug, *list, *require, *action;
	} want[] = {
		{ "ssc", "members", "dmarc", "reject" },
		{ "ssc", "open", "none", "reject" },
		{ "ssc", "held", "dmarc", "hold" },
		{ "other", "members", "none", "hold" },
		{ "other", "strict", "dmarc", "hold" },
	};
	GError *err = NULL;
	char *path;
	struct config *cfg = load("auth.conf", text, &path, &err);

	g_assert_no_error(err);
	check_str(cfg->authserv_id, "mx.example.org", "authserv_id");
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
		struct list_settings s;

		config_list_settings(cfg, want[i].slug, want[i].list, &s);
		check_str(require_auth_name(s.require_auth), want[i].require,
			  "%s/%s require_auth", want[i].slug, want[i].list);
		check_str(unauth_action_name(s.unauthenticated_action),
			  want[i].action, "%s/%s unauthenticated_action",
			  want[i].slug, want[i].list);
	}
	config_free(&cfg);
	g_free(path);
}

static void
test_invalid(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		GError *err = NULL;
		char *name = g_strdup_printf("bad-%02zu.conf", i), *path;
		struct config *cfg = load(name, bad_cases[i].text, &path, &err);
		char *text = unit_quote(bad_cases[i].text);
		char *want = g_strdup_printf("%s: ", path);
		const char *msg = err ? err->message : NULL;

		check_str(cfg ? "a config" : "NULL", "NULL", "config_load(%s)",
			  text);
		if (msg == NULL || !g_str_has_prefix(msg, want))
			check_str(msg, want,
				  "config_load(%s): message must "
				  "start with",
				  text);
		check_contains(msg, bad_cases[i].want, "config_load(%s)", text);
		check_lacks(msg, "\n", "config_load(%s) (one line)", text);
		config_free(&cfg);
		g_clear_error(&err);
		g_free(want);
		g_free(text);
		g_free(path);
		g_free(name);
	}
}

static void
test_path(void)
{
	char *saved = g_strdup(g_getenv("SOARLIST_CONFIG"));
	char *missing = g_build_filename(tmpdir, "missing.conf", NULL);
	GError *err = NULL;
	struct config *cfg = config_load(missing, &err);

	check_int(cfg == NULL, TRUE, "config_load(missing file) is NULL");
	check_contains(err ? err->message : NULL, missing, "missing file");
	g_clear_error(&err);
	g_free(missing);
	g_setenv("SOARLIST_CONFIG", "/from/env.conf", TRUE);
	check_str(config_path("/x.conf"), "/x.conf", "config_path(-c)");
	check_str(config_path(NULL), "/from/env.conf", "config_path(env)");
	g_unsetenv("SOARLIST_CONFIG");
	check_str(config_path(NULL), SOARLIST_DEFAULT_CONFIG,
		  "config_path(no env)");
	if (saved != NULL)
		g_setenv("SOARLIST_CONFIG", saved, TRUE);
	g_free(saved);
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("soarlist-unit-XXXXXX", NULL);
	g_assert_nonnull(tmpdir);
	g_test_add_func("/config/design-example", test_design_example);
	g_test_add_func("/config/settings", test_settings);
	g_test_add_func("/config/invalid", test_invalid);
	g_test_add_func("/config/waits", test_waits);
	g_test_add_func("/config/dkim-dns", test_dkim_dns);
	g_test_add_func("/config/auth-settings", test_auth_settings);
	g_test_add_func("/config/path", test_path);
	rc = g_test_run();
	unit_rmtree(tmpdir);
	g_free(tmpdir);
	return rc;
}
