/* test-verp.c - the verp setting (config.c) and verp_send(): which
 * sendmail runs a post makes, with which argv, in each mode, against a
 * real SQLite database and a recording sendmail (a script that appends
 * its argv to a file, one run per paragraph). */
#include <fcntl.h>
#include <gmime/gmime.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soarlist/api.h"
#include "soarlist/catalog.h"
#include "soarlist/db.h"
#include "soarlist/sync.h"
#include "soarlist/verp.h"

#include "unit.h"
#include "unit-db.h"

#define SSC "ssc.example.org"

static const char config_head[] =
	"[soarlist]\nsendmail = %s/sendmail\n"
	"[club ssc]\napi_url = file:///dev/null\ndomains = " SSC "\n"
	"[club quiet]\napi_url = file:///dev/null\n"
	"domains = quiet.example.org\nverp = never\n"
	"[list ssc/always]\nverp = always\n"
	"[list ssc/never]\nverp = never\n"
	"[list quiet/loud]\nverp = always\n";

static const char ssc_json[] =
	"{ \"lists\": { \"members\": [\"a@x.example\", \"B@x.example\","
	"  \"c@y.example\", \"d@z.example\"],"
	"  \"always\": [\"a@x.example\", \"c@y.example\"],"
	"  \"never\": [\"a@x.example\", \"c@y.example\"] },"
	"  \"whitelist\": [] }";

/* sendmail: appends its argv (one line each) and a blank line to runs;
 * exits 75 when the file "fail-verp" exists and it was given -XV, or
 * "fail-plain" exists and it was not */
static const char sendmail_text[] =
	"#!/bin/sh\n"
	"d=$(dirname \"$0\")\nverp=no\n"
	"for a in \"$@\"; do [ \"$a\" = -XV ] && verp=yes; done\n"
	"cat >/dev/null\n"
	"if [ $verp = yes ] && [ -e \"$d/fail-verp\" ]; then exit 75; fi\n"
	"if [ $verp = no ] && [ -e \"$d/fail-plain\" ]; then exit 75; fi\n"
	"{ echo sendmail; printf '%s\\n' \"$@\"; echo; } >>\"$d/runs\"\n";

static char *tmpdir;
static struct config *cfg;
static sqlite3 *db;

static void
store(const char *slug, const char *json)
{
	unit_store(db, cfg, slug, json);
}

static void
sql(const char *text)
{
	GError *err = NULL;

	db_exec(db, text, &err);
	g_assert_no_error(err);
}

/* The runs recorded since the last call, as "argv joined by spaces" per
 * run, joined by " | "; the record is emptied. */
static char *
runs(void)
{
	g_autofree char *path = g_build_filename(tmpdir, "runs", NULL);
	g_autofree char *text = NULL;
	GString *out = g_string_new(NULL);

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return g_string_free(out, FALSE);
	g_unlink(path);
	g_auto(GStrv) run = g_strsplit(text, "\n\n", -1);
	for (char **r = run; *r; r++) {
		g_strstrip(g_strdelimit(*r, "\n", ' '));
		if (**r != '\0') /* the program's directory dropped */
			g_string_append_printf(out, "%s%s",
					       out->len ? " | " : "",
					       strstr(*r, "sendmail"));
	}
	return g_string_free(out, FALSE);
}

static void
flag(const char *name, gboolean on)
{
	g_autofree char *path = g_build_filename(tmpdir, name, NULL);

	if (on)
		g_assert_true(g_file_set_contents(path, "", 0, NULL));
	else
		g_unlink(path);
}

/* Send a small post to LIST@DOMAIN for the members in RCPTS
 * (space-separated). Returns verp_send()'s result; *error_r the error's
 * text (newly allocated) or NULL. */
static int
post_to(const char *list, const char *domain, const char *rcpts, char **error_r)
{
	static const char post[] = "From: a@x.example\nSubject: hi\n"
				   "Message-ID: <1@x.example>\n\nbody\n";
	g_autofree char *path = unit_write(tmpdir, "post", post);
	g_auto(GStrv) addrs = g_strsplit(rcpts, " ", -1);
	g_autoptr(GPtrArray) to = g_ptr_array_new();
	struct list_ref ref = { 0 };
	struct message msg = { 0 };
	GError *err = NULL;
	int fd = open(path, O_RDONLY), rc;

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(message_parse(fd, (off_t)strlen(post), &msg, &err), ==,
			0);
	g_assert_cmpint(catalog_resolve(db, cfg, list, domain, &ref, &err), ==,
			1);
	for (char **a = addrs; *a; a++)
		g_ptr_array_add(to, *a);
	rc = verp_send(cfg, db, &ref, to, &msg, &err);
	*error_r = err ? g_strdup(err->message) : NULL;
	g_clear_error(&err);
	list_ref_clear(&ref);
	message_clear(&msg);
	close(fd);
	return rc;
}

static void
test_config(void)
{
	static const struct {
		const char *slug, *list, *want;
	} cases[] = {
		{ "ssc", "members", "probe" }, /* the default */
		{ "ssc", "always", "always" },   { "ssc", "never", "never" },
		{ "quiet", "members", "never" }, /* the club's */
		{ "quiet", "loud", "always" }, /* the list's over the club's */
	};
	struct list_settings s;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		config_list_settings(cfg, cases[i].slug, cases[i].list, &s);
		check_str(verp_mode_name(s.verp), cases[i].want,
			  "verp of %s/%s", cases[i].slug, cases[i].list);
	}
}

static void
test_config_global(void)
{
	static const char *const texts[] = {
		"[soarlist]\nverp = never\n[club a]\napi_url = file:///x\n"
		"domains = a.example\n[club b]\napi_url = file:///x\n"
		"domains = b.example\nverp = probe\n",
		"[soarlist]\nverp = sometimes\n",
	};
	struct list_settings s;
	GError *err = NULL;
	g_autofree char *p0 = unit_write(tmpdir, "g0.conf", texts[0]);
	g_autofree char *p1 = unit_write(tmpdir, "g1.conf", texts[1]);
	struct config *c = config_load(p0, &err);

	g_assert_no_error(err);
	config_list_settings(c, "a", "members", &s);
	check_str(verp_mode_name(s.verp), "never", "global verp = never");
	config_list_settings(c, "b", "members", &s);
	check_str(verp_mode_name(s.verp), "probe", "club b over the global");
	config_free(&c);
	c = config_load(p1, &err);
	check_int(c == NULL, 1, "config_load with verp = sometimes fails");
	check_contains(err ? err->message : NULL,
		       "verp = sometimes: expected probe | always | never",
		       "its error");
	g_clear_error(&err);
	config_free(&c);
}

static const char *const WHO = "a@x.example B@x.example c@y.example";

static void
test_modes(void)
{
	static const struct {
		const char *list, *domain, *want;
	} cases[] = {
		{ "always", SSC,
		  "sendmail -i -f always-bounces@" SSC
		  " -XV -- a@x.example B@x.example c@y.example" },
		{ "never", SSC,
		  "sendmail -i -f never-bounces@" SSC
		  " -- a@x.example B@x.example c@y.example" },
		/* probe, nothing to probe: one plain run */
		{ "members", SSC,
		  "sendmail -i -f members-bounces@" SSC
		  " -- a@x.example B@x.example c@y.example" },
	};
	char *e = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		check_int(post_to(cases[i].list, cases[i].domain, WHO, &e), 0,
			  "verp_send to %s", cases[i].list);
		g_free(e);
		g_autofree char *got = runs();
		check_str(got, cases[i].want, "runs of %s", cases[i].list);
	}
}

static void
test_probe(void)
{
	char *e = NULL;
	g_autofree char *r1 = NULL, *r2 = NULL, *r3 = NULL, *r4 = NULL;
	g_autofree char *r5 = NULL;

	sql("DELETE FROM verp_probe; DELETE FROM verp_probe_list");
	/* b@x.example to probe (in any case); c@y.example's mark is older
	 * than the bounce window; d is to probe but not a recipient */
	sql("INSERT INTO verp_probe (club_id, address, status, at) SELECT id, "
	    "'b@x.example', '5.1.1', strftime('%s','now') FROM club WHERE "
	    "slug = 'ssc'; INSERT INTO verp_probe (club_id, address, status, "
	    "at) SELECT id, 'c@y.example', '5.1.1', 1000 FROM club WHERE slug "
	    "= 'ssc'; INSERT INTO verp_probe (club_id, address, status, at) "
	    "SELECT id, 'd@z.example', '5.1.1', strftime('%s','now') FROM club "
	    "WHERE slug = 'ssc'");

	/* the probe run fails: nothing handed over, nothing marked */
	flag("fail-verp", TRUE);
	check_int(post_to("members", SSC, WHO, &e), -1, "failing probe run");
	check_contains(e, "exited with status 75", "its error");
	g_clear_pointer(&e, g_free);
	r1 = runs();
	check_str(r1, "", "runs when the probe run fails");
	flag("fail-verp", FALSE);

	/* the plain run fails after the probe: -1, the probe is out and
	 * marked */
	flag("fail-plain", TRUE);
	check_int(post_to("members", SSC, WHO, &e), -1, "failing plain run");
	check_contains(e, "the VERP probe to 1 went out", "its error");
	g_clear_pointer(&e, g_free);
	r2 = runs();
	check_str(r2,
		  "sendmail -i -f members-bounces@" SSC " -XV -- "
		  "B@x.example",
		  "runs when the plain run fails");
	flag("fail-plain", FALSE);
	sql("UPDATE verp_probe SET sent_at = NULL");

	check_int(post_to("members", SSC, WHO, &e), 0, "probe");
	g_clear_pointer(&e, g_free);
	r3 = runs();
	check_str(r3,
		  "sendmail -i -f members-bounces@" SSC " -XV -- "
		  "B@x.example | sendmail -i -f members-bounces@" SSC
		  " -- a@x.example c@y.example",
		  "runs with a probe");
	/* once: the next post is plain again; d still waits for its post */
	check_int(post_to("members", SSC, WHO, &e), 0, "after the probe");
	g_clear_pointer(&e, g_free);
	r4 = runs();
	check_str(r4,
		  "sendmail -i -f members-bounces@" SSC " -- a@x.example "
		  "B@x.example c@y.example",
		  "runs after the probe");

	/* a list to probe as a whole: one -XV run, once */
	sql("INSERT INTO verp_probe_list (club_id, list, at) SELECT id, "
	    "'members', strftime('%s','now') FROM club WHERE slug = 'ssc'");
	check_int(post_to("members", SSC, WHO, &e), 0, "list probe");
	g_clear_pointer(&e, g_free);
	r5 = runs();
	check_str(r5,
		  "sendmail -i -f members-bounces@" SSC " -XV -- "
		  "a@x.example B@x.example c@y.example",
		  "runs of a list probe");
	check_int(post_to("members", SSC, "a@x.example", &e), 0, "after it");
	g_clear_pointer(&e, g_free);
	g_free(r5);
	r5 = runs();
	check_str(r5, "sendmail -i -f members-bounces@" SSC " -- a@x.example",
		  "runs after the list probe");
}

int
main(int argc, char **argv)
{
	GError *err = NULL;
	g_autofree char *text = NULL, *path = NULL, *dbpath = NULL;
	g_autofree char *sm = NULL;
	int rc;

	g_test_init(&argc, &argv, NULL);
	g_mime_init();
	tmpdir = g_dir_make_tmp("soarlist-unit-XXXXXX", &err);
	g_assert_no_error(err);
	sm = unit_write(tmpdir, "sendmail", sendmail_text);
	g_assert_cmpint(chmod(sm, 0755), ==, 0);
	text = g_strdup_printf(config_head, tmpdir);
	path = unit_write(tmpdir, "soarlist.conf", text);
	dbpath = g_build_filename(tmpdir, "soarlist.db", NULL);
	cfg = config_load(path, &err);
	g_assert_no_error(err);
	db = db_open(dbpath, DB_CREATE, DB_BUSY_TIMEOUT_MS, &err);
	g_assert_no_error(err);
	store("ssc", ssc_json);
	store("quiet", "{\"lists\": {\"members\": [\"q@x.example\"], "
		       "\"loud\": [\"q@x.example\"]}, \"whitelist\": []}");
	g_test_add_func("/verp/config", test_config);
	g_test_add_func("/verp/config-global", test_config_global);
	g_test_add_func("/verp/modes", test_modes);
	g_test_add_func("/verp/probe", test_probe);
	rc = g_test_run();
	db_close(&db);
	config_free(&cfg);
	unit_rmtree(tmpdir);
	g_free(tmpdir);
	return rc;
}
