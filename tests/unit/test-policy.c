/* test-policy.c - catalog_resolve and policy_decide against a real SQLite
 * database: db_open(DB_CREATE) in a scratch directory, filled by
 * sync_store() from api_parse() of M2S-style JSON. */
#include "soarlist/api.h"
#include "soarlist/catalog.h"
#include "soarlist/db.h"
#include "soarlist/policy.h"
#include "soarlist/sync.h"

#include "unit.h"
#include "unit-db.h"

#define SSC "ssc.manage2soar.com"
#define SSC2 "skylinesoaring.org"
#define OTHER "other.example.org"

static const char config_text[] =
	"[soarlist]\n"
	"[club ssc]\nname = Skyline Soaring Club\napi_url = file:///dev/null\n"
	"domains = " SSC ";" SSC2 "\n"
	"[club other]\napi_url = file:///dev/null\ndomains = " OTHER "\n"
	"[club never]\napi_url = file:///dev/null\n"
	"domains = never.example.org\n"
	"[list ssc/board]\nnonmember_action = hold\n"
	"[list ssc/webmaster]\ndisplay_name = Web Team\nposting = members\n";

static const char ssc_json[] =
	"{ \"lists\": { \"members\": [\"alice@example.org\", \"Bob@Example.COM\"],"
	"  \"board\": {\"count\": 1, \"emails\": [\"carol@example.org\"]},"
	"  \"treasurer\": [\"tina@example.net\"],"
	"  \"webmaster\": [\"web@example.org\"], \"private-owners\": [] },"
	"  \"whitelist\": [\"alice@example.org\", \"wendy@example.org\"],"
	"  \"bypass_lists\": [\"treasurer\"] }";

static const char other_json[] =
	"{ \"lists\": { \"members\": [\"oscar@example.org\"],"
	"               \"board\": [\"olga@example.org\"] },"
	"  \"whitelist\": [\"olivia@example.org\"] }";

static char *tmpdir;
static struct config *cfg;
static sqlite3 *db;

static void
store(const char *slug, const char *json)
{
	unit_store(db, cfg, slug, json);
}

static const struct {
	const char *name, *domain;
	int rc;
	const char *address, *display;
	gboolean bypass;
} resolve_cases[] = {
	{ "members", SSC, 1, "members@" SSC, "Members", FALSE },
	{ "members", "SkylineSoaring.ORG", 1, "members@" SSC2, "Members",
	  FALSE },
	{ "treasurer", SSC2, 1, "treasurer@" SSC2, "Treasurer", TRUE },
	{ "private-owners", SSC, 1, "private-owners@" SSC, "Private Owners",
	  FALSE },
	{ "webmaster", SSC, 1, "webmaster@" SSC, "Web Team", FALSE },
	{ "members", OTHER, 1, "members@" OTHER, "Members", FALSE },
	{ "treasurer", OTHER, 0, NULL, NULL, FALSE }, /* club A's list */
	{ "nosuch", SSC, 0, NULL, NULL, FALSE },
	{ "members", "unknown.example.com", 0, NULL, NULL, FALSE },
	/* configured, never synced: temporary, not "no such list" */
	{ "members", "never.example.org", -1, NULL, NULL, FALSE },
};

static void
test_resolve(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(resolve_cases); i++) {
		const char *n = resolve_cases[i].name;
		const char *d = resolve_cases[i].domain;
		struct list_ref ref;
		GError *err = NULL;
		int rc = catalog_resolve(db, cfg, n, d, &ref, &err);

		check_int(rc, resolve_cases[i].rc, "catalog_resolve(%s, %s)", n,
			  d);
		check_str(ref.address, resolve_cases[i].address,
			  "catalog_resolve(%s, %s) address", n, d);
		check_str(ref.display, resolve_cases[i].display,
			  "catalog_resolve(%s, %s) display", n, d);
		check_int(ref.bypass, resolve_cases[i].bypass,
			  "catalog_resolve(%s, %s) bypass", n, d);
		check_int(rc < 0 ? g_error_matches(err, DB_ERROR, DB_ERROR_OPEN)
				 : err == NULL,
			  TRUE,
			  "catalog_resolve(%s, %s): error set as documented", n,
			  d);
		g_clear_error(&err);
		list_ref_clear(&ref);
	}
}

#define KEEP (-1) /* the setting the config gave */
#define STRANGER "stranger@example.org"

static const struct {
	const char *list, *domain;
	int posting, nonmember; /* enum values or KEEP */
	const char *author;
	enum decision want;
} decide_cases[] = {
	/* default on a normal list: the club's whitelist or the list */
	{ "members", SSC, KEEP, KEEP, "alice@example.org",
	  DECISION_DISTRIBUTE },
	{ "members", SSC2, KEEP, KEEP, "wendy@example.org",
	  DECISION_DISTRIBUTE },
	{ "members", SSC, KEEP, KEEP, "bob@example.com", DECISION_DISTRIBUTE },
	{ "members", SSC, KEEP, KEEP, "ALICE@example.org",
	  DECISION_DISTRIBUTE },
	{ "members", SSC, KEEP, KEEP, STRANGER, DECISION_REJECT },
	{ "members", SSC, KEEP, KEEP, NULL, DECISION_REJECT },
	{ "board", SSC, KEEP, KEEP, "carol@example.org", DECISION_DISTRIBUTE },
	{ "board", SSC, KEEP, KEEP, "wendy@example.org", DECISION_DISTRIBUTE },
	/* bypass: anyone, unless the config overrides */
	{ "treasurer", SSC, KEEP, KEEP, STRANGER, DECISION_DISTRIBUTE },
	{ "treasurer", SSC, KEEP, KEEP, NULL, DECISION_DISTRIBUTE },
	{ "treasurer", SSC, POSTING_MEMBERS, KEEP, STRANGER, DECISION_REJECT },
	{ "treasurer", SSC, POSTING_WHITELIST, KEEP, "wendy@example.org",
	  DECISION_DISTRIBUTE },
	/* posting = members: the whitelist does not count */
	{ "members", SSC, POSTING_MEMBERS, KEEP, "wendy@example.org",
	  DECISION_REJECT },
	{ "members", SSC, POSTING_MEMBERS, KEEP, "alice@example.org",
	  DECISION_DISTRIBUTE },
	{ "webmaster", SSC, KEEP, KEEP, "wendy@example.org", DECISION_REJECT },
	{ "webmaster", SSC, KEEP, KEEP, "web@example.org",
	  DECISION_DISTRIBUTE },
	/* posting = anyone / whitelist */
	{ "members", SSC, POSTING_ANYONE, KEEP, STRANGER, DECISION_DISTRIBUTE },
	{ "members", SSC, POSTING_ANYONE, KEEP, NULL, DECISION_DISTRIBUTE },
	{ "members", SSC, POSTING_WHITELIST, KEEP, "tina@example.net",
	  DECISION_REJECT },
	/* nonmember_action: the config's hold, and overrides */
	{ "board", SSC, KEEP, KEEP, STRANGER, DECISION_HOLD },
	{ "board", SSC, KEEP, KEEP, NULL, DECISION_HOLD },
	{ "board", SSC, KEEP, NONMEMBER_REJECT, STRANGER, DECISION_REJECT },
	{ "board", SSC, KEEP, NONMEMBER_DISCARD, STRANGER, DECISION_DISCARD },
	{ "members", SSC, KEEP, NONMEMBER_HOLD, STRANGER, DECISION_HOLD },
	/* club A's whitelist and lists never admit to club B, either way */
	{ "members", OTHER, KEEP, KEEP, "wendy@example.org", DECISION_REJECT },
	{ "members", OTHER, KEEP, KEEP, "alice@example.org", DECISION_REJECT },
	{ "members", OTHER, KEEP, KEEP, "noreply@" SSC, DECISION_REJECT },
	{ "members", OTHER, KEEP, KEEP, "olivia@example.org",
	  DECISION_DISTRIBUTE },
	{ "members", SSC, KEEP, KEEP, "olivia@example.org", DECISION_REJECT },
	{ "board", SSC, KEEP, NONMEMBER_REJECT, "olga@example.org",
	  DECISION_REJECT },
	{ "board", OTHER, KEEP, KEEP, "olga@example.org", DECISION_DISTRIBUTE },
};

/* Decide for REF (its settings already adjusted) and check the decision
 * against WANT and the reason for being one line. */
static void
check_decision(struct list_ref *ref, const char *sender, const char *author,
	       enum decision want, const char *what)
{
	struct policy_result r = { 0 };
	GError *err = NULL;

	check_int(policy_decide(db, ref, sender, author, NULL, &r, &err), 0,
		  "%s rc", what);
	check_str(decision_name(r.decision), decision_name(want), "%s", what);
	if (r.reason == NULL || strchr(r.reason, '\n') != NULL)
		check_str(r.reason, "one line", "%s reason", what);
	policy_result_clear(&r);
	list_ref_clear(ref);
	g_clear_error(&err);
}

static void
test_decide(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(decide_cases); i++) {
		int posting = decide_cases[i].posting;
		int nonmember = decide_cases[i].nonmember;
		const char *author = decide_cases[i].author;
		struct list_ref ref;
		GError *err = NULL;
		char *what = g_strdup_printf(
			"policy_decide(%s@%s, posting=%s, "
			"nonmember=%s, %s)",
			decide_cases[i].list, decide_cases[i].domain,
			posting == KEEP ? "config"
					: posting_policy_name(
						  (enum posting_policy)posting),
			nonmember == KEEP
				? "config"
				: nonmember_action_name(
					  (enum nonmember_action)nonmember),
			author ? author : "NULL");

		g_assert_cmpint(catalog_resolve(db, cfg, decide_cases[i].list,
						decide_cases[i].domain, &ref,
						&err),
				==, 1);
		if (posting != KEEP)
			ref.settings.posting = (enum posting_policy)posting;
		if (nonmember != KEEP)
			ref.settings.nonmember_action = (enum nonmember_action)
				nonmember;
		check_decision(&ref, author, author, decide_cases[i].want,
			       what);
		g_free(what);
	}
}

/* The envelope sender and the author: the app's noreply@ sender passes on
 * every list of its own club (the whitelist never has it), and otherwise
 * the post counts as coming from whichever of the two the list allows, so
 * that the policy service (which sees only the envelope sender) refuses
 * everything the delivery agent would refuse. */
static const struct {
	const char *list, *domain;
	gboolean moderated;
	const char *sender, *author;
	enum decision want;
} sender_cases[] = {
	{ "members", SSC, FALSE, "noreply@" SSC, "noreply@" SSC,
	  DECISION_DISTRIBUTE },
	{ "members", SSC, FALSE, "NoReply@SkylineSoaring.ORG", NULL,
	  DECISION_DISTRIBUTE },
	{ "board", SSC, FALSE, "noreply@" SSC2, "noreply@" SSC2,
	  DECISION_DISTRIBUTE },
	{ "webmaster", SSC, FALSE, "noreply@" SSC, STRANGER,
	  DECISION_DISTRIBUTE },
	{ "members", SSC, TRUE, "noreply@" SSC, "noreply@" SSC,
	  DECISION_DISTRIBUTE },
	/* the From never makes the app: the envelope decides */
	{ "members", SSC, FALSE, STRANGER, "noreply@" SSC, DECISION_REJECT },
	/* another club's app sender gets no pass */
	{ "members", OTHER, FALSE, "noreply@" SSC, "noreply@" SSC,
	  DECISION_REJECT },
	{ "members", SSC, FALSE, "noreply@" OTHER, "noreply@" OTHER,
	  DECISION_REJECT },
	{ "members", SSC, FALSE, "noreply@example.org", NULL, DECISION_REJECT },
	{ "members", SSC, FALSE, "noreply-x@" SSC, NULL, DECISION_REJECT },
	/* either sender */
	{ "members", SSC, FALSE, "alice@example.org", STRANGER,
	  DECISION_DISTRIBUTE },
	{ "members", SSC, FALSE, "srs0=x@forwarder.example",
	  "alice@example.org", DECISION_DISTRIBUTE },
	{ "members", SSC, FALSE, "Wendy@Example.ORG", NULL,
	  DECISION_DISTRIBUTE },
	{ "members", SSC, FALSE, STRANGER, STRANGER, DECISION_REJECT },
	{ "members", SSC, FALSE, "", NULL, DECISION_REJECT },
	{ "members", SSC, FALSE, NULL, NULL, DECISION_REJECT },
	{ "members", SSC, FALSE, "not an address", NULL, DECISION_REJECT },
	{ "members", SSC, TRUE, "alice@example.org", STRANGER, DECISION_HOLD },
	{ "members", SSC, TRUE, STRANGER, STRANGER, DECISION_REJECT },
};

static void
test_senders(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(sender_cases); i++) {
		struct list_ref ref;
		GError *err = NULL;
		g_autofree char *what = g_strdup_printf(
			"policy_decide(%s@%s%s, sender %s, author %s)",
			sender_cases[i].list, sender_cases[i].domain,
			sender_cases[i].moderated ? ", moderated" : "",
			sender_cases[i].sender ? sender_cases[i].sender
					       : "NULL",
			sender_cases[i].author ? sender_cases[i].author
					       : "NULL");

		g_assert_cmpint(catalog_resolve(db, cfg, sender_cases[i].list,
						sender_cases[i].domain, &ref,
						&err),
				==, 1);
		ref.settings.moderated = sender_cases[i].moderated;
		check_decision(&ref, sender_cases[i].sender,
			       sender_cases[i].author, sender_cases[i].want,
			       what);
	}
}

/* require_auth = dmarc: a member's post counts only with its From domain
 * authenticated (and, when only the envelope sender is a member, the
 * envelope sender's domain too); AUTH_UNKNOWN is RCPT TO time, when the
 * headers are not known: only the envelope is decided then. */
enum { AUTH_UNKNOWN, AUTH_NONE, AUTH_FROM, AUTH_BOTH, AUTH_ENVELOPE };

static const struct {
	const char *list;
	enum unauth_action action;
	gboolean moderated;
	const char *sender, *author;
	int auth;
	enum decision want;
} auth_cases[] = {
	{ "members", UNAUTH_HOLD, FALSE, "alice@example.org",
	  "alice@example.org", AUTH_FROM, DECISION_DISTRIBUTE },
	{ "members", UNAUTH_HOLD, FALSE, "alice@example.org",
	  "alice@example.org", AUTH_NONE, DECISION_HOLD },
	{ "members", UNAUTH_REJECT, FALSE, "alice@example.org",
	  "alice@example.org", AUTH_NONE, DECISION_REJECT },
	{ "members", UNAUTH_REJECT, FALSE, "alice@example.org",
	  "alice@example.org", AUTH_UNKNOWN, DECISION_DISTRIBUTE },
	/* SPF for the envelope alone does not authenticate From */
	{ "members", UNAUTH_HOLD, FALSE, "alice@example.org",
	  "alice@example.org", AUTH_ENVELOPE, DECISION_HOLD },
	/* only the envelope sender is a member: both must be authenticated
	 * (else a stranger authenticates his own From and forges a member's
	 * envelope) */
	{ "members", UNAUTH_HOLD, FALSE, "alice@example.org", STRANGER,
	  AUTH_FROM, DECISION_HOLD },
	{ "members", UNAUTH_HOLD, FALSE, "alice@example.org", STRANGER,
	  AUTH_BOTH, DECISION_DISTRIBUTE },
	/* non-members: nonmember_action as ever, authenticated or not */
	{ "members", UNAUTH_HOLD, FALSE, STRANGER, STRANGER, AUTH_FROM,
	  DECISION_REJECT },
	{ "board", UNAUTH_REJECT, FALSE, STRANGER, STRANGER, AUTH_NONE,
	  DECISION_HOLD },
	/* a list open to anyone, and the app, need no authentication */
	{ "treasurer", UNAUTH_REJECT, FALSE, STRANGER, STRANGER, AUTH_NONE,
	  DECISION_DISTRIBUTE },
	{ "members", UNAUTH_REJECT, FALSE, "noreply@" SSC, "noreply@" SSC,
	  AUTH_NONE, DECISION_DISTRIBUTE },
	/* moderated: an authenticated post waits for the moderators, an
	 * unauthenticated one meets unauthenticated_action */
	{ "members", UNAUTH_HOLD, TRUE, "alice@example.org",
	  "alice@example.org", AUTH_FROM, DECISION_HOLD },
	{ "members", UNAUTH_REJECT, TRUE, "alice@example.org",
	  "alice@example.org", AUTH_NONE, DECISION_REJECT },
};

static void
test_auth(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(auth_cases); i++) {
		int a = auth_cases[i].auth;
		struct post_auth auth = {
			.from_ok = a == AUTH_FROM || a == AUTH_BOTH,
			.envelope_ok = a == AUTH_BOTH || a == AUTH_ENVELOPE,
			.detail = (char *)"what the verifier said",
		};
		struct policy_result r = { 0 };
		struct list_ref ref;
		GError *err = NULL;
		g_autofree char *what = g_strdup_printf(
			"require_auth = dmarc: %s, %s%s, sender %s, author %s, "
			"auth %d",
			auth_cases[i].list,
			unauth_action_name(auth_cases[i].action),
			auth_cases[i].moderated ? ", moderated" : "",
			auth_cases[i].sender, auth_cases[i].author, a);

		g_assert_cmpint(catalog_resolve(db, cfg, auth_cases[i].list,
						SSC, &ref, &err),
				==, 1);
		ref.settings.require_auth = REQUIRE_AUTH_DMARC;
		ref.settings.unauthenticated_action = auth_cases[i].action;
		ref.settings.moderated = auth_cases[i].moderated;
		check_int(policy_decide(db, &ref, auth_cases[i].sender,
					auth_cases[i].author,
					a == AUTH_UNKNOWN ? NULL : &auth, &r,
					&err),
			  0, "%s: rc", what);
		check_str(decision_name(r.decision),
			  decision_name(auth_cases[i].want), "%s", what);
		if (a == AUTH_NONE &&
		    auth_cases[i].want != DECISION_DISTRIBUTE &&
		    strcmp(auth_cases[i].author, STRANGER) != 0)
			check_contains(r.reason,
				       "authenticated From domain "
				       "(require_auth = dmarc): what the "
				       "verifier said",
				       "%s: reason", what);
		policy_result_clear(&r);
		list_ref_clear(&ref);
	}
}

/* The line for the MTA on a rejection, and a new sync replacing a club's
 * data: a removed list is gone, a removed whitelist entry no longer
 * posts, the other club is untouched. */
static void
test_reason_resync(void)
{
	struct list_ref ref;
	struct policy_result r = { 0 };
	GError *err = NULL;

	g_assert_cmpint(catalog_resolve(db, cfg, "members", SSC2, &ref, &err),
			==, 1);
	g_assert_cmpint(
		policy_decide(db, &ref, STRANGER, STRANGER, NULL, &r, &err), ==,
		0);
	check_str(r.reason,
		  "5.7.1 only members of Skyline Soaring Club may "
		  "post to members@" SSC2,
		  "reason of a rejection");
	policy_result_clear(&r);
	list_ref_clear(&ref);

	store("ssc", "{\"lists\": {\"members\": [\"alice@example.org\"]}, "
		     "\"whitelist\": []}");
	check_int(catalog_resolve(db, cfg, "board", SSC, &ref, &err), 0,
		  "catalog_resolve(board) after it left M2S");
	list_ref_clear(&ref);
	g_assert_cmpint(catalog_resolve(db, cfg, "members", SSC, &ref, &err),
			==, 1);
	g_assert_cmpint(policy_decide(db, &ref, "wendy@example.org",
				      "wendy@example.org", NULL, &r, &err),
			==, 0);
	check_str(decision_name(r.decision), "reject",
		  "wendy after she left the whitelist");
	policy_result_clear(&r);
	list_ref_clear(&ref);
	check_int(catalog_resolve(db, cfg, "board", OTHER, &ref, &err), 1,
		  "catalog_resolve(board@other) after a resync of ssc");
	list_ref_clear(&ref);
	g_assert_no_error(err);
	store("ssc", ssc_json);
}

int
main(int argc, char **argv)
{
	GError *err = NULL;
	char *path, *dbpath;
	int rc;

	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("soarlist-unit-XXXXXX", &err);
	g_assert_no_error(err);
	path = unit_write(tmpdir, "soarlist.conf", config_text);
	dbpath = g_build_filename(tmpdir, "soarlist.db", NULL);
	cfg = config_load(path, &err);
	g_assert_no_error(err);
	db = db_open(dbpath, DB_CREATE, DB_BUSY_TIMEOUT_MS, &err);
	g_assert_no_error(err);
	store("ssc", ssc_json);
	store("other", other_json);
	g_test_add_func("/policy/resolve", test_resolve);
	g_test_add_func("/policy/decide", test_decide);
	g_test_add_func("/policy/senders", test_senders);
	g_test_add_func("/policy/auth", test_auth);
	g_test_add_func("/policy/reason-resync", test_reason_resync);
	rc = g_test_run();
	db_close(&db);
	config_free(&cfg);
	unit_rmtree(tmpdir);
	g_free(tmpdir);
	g_free(dbpath);
	g_free(path);
	return rc;
}
