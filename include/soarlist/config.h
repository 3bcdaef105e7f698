/* config.h - the soarlist configuration file (GKeyFile INI).
 *
 * Groups: [soarlist] (global settings), [club SLUG] (one per club), and
 * [list SLUG/LIST] (per-list overrides). See soarlist.conf(5).
 */
#ifndef SOARLIST_CONFIG_H
#define SOARLIST_CONFIG_H

#include <glib.h>

enum posting_policy {
	POSTING_DEFAULT =
		0, /* from M2S: anyone on bypass lists, else whitelist */
	POSTING_WHITELIST, /* club whitelist or the list's own members */
	POSTING_MEMBERS,   /* the list's own members only */
	POSTING_ANYONE,
};

enum nonmember_action {
	NONMEMBER_REJECT = 0,
	NONMEMBER_DISCARD,
	NONMEMBER_HOLD,
};

enum reply_to_mode {
	REPLY_TO_SENDER = 0,
	REPLY_TO_LIST,
	REPLY_TO_NONE,
};

enum from_address {
	FROM_ADDRESS_BOUNCES = 0,
	FROM_ADDRESS_LIST,
};

/* require_auth: must a member's post prove its From domain (auth.h)? */
enum require_auth {
	REQUIRE_AUTH_INHERIT = 0, /* a list: the club's; a club: none */
	REQUIRE_AUTH_NONE,
	REQUIRE_AUTH_DMARC,
};

/* unauthenticated_action: what becomes of a post that fails it */
enum unauth_action {
	UNAUTH_INHERIT = 0, /* a list: the club's; a club: hold */
	UNAUTH_HOLD,
	UNAUTH_REJECT,
};

/* verp: when a post goes out with sendmail -XV, one SMTP transaction and
 * one bounce address per member (verp.h) */
enum verp_mode {
	VERP_INHERIT = 0, /* a list: the club's; a club: the global one */
	VERP_PROBE,       /* plain, but -XV for the addresses to probe */
	VERP_ALWAYS,      /* every post, every member */
	VERP_NEVER,       /* never: bounces attributed from the DSN alone */
};

/* Effective settings of one list: defaults overlaid with [list club/name]. */
struct list_settings {
	enum posting_policy posting;
	enum nonmember_action nonmember_action;
	enum reply_to_mode reply_to;
	char *subject_prefix; /* NULL: none */
	char *display_name;   /* NULL: derived from the list name */
	gboolean from_rewrite;
	enum from_address from_address;
	char *list_unsubscribe; /* NULL: no List-Unsubscribe header */
	guint64 max_size;       /* bytes; 0: no limit */
	char *footer;           /* NULL: none; may hold newlines and the
				 * placeholders {list_name}, {list_address},
				 * {club_name} */
	char **owners;          /* NULL: the club's owners */
	gboolean moderated;     /* hold every post, members' too */
	/* never INHERIT once config_list_settings() has resolved them */
	enum require_auth require_auth;
	enum unauth_action unauthenticated_action;
	enum verp_mode verp;
};

/* A suspended club keeps its data but is not synced, and mail to its
 * lists is refused (5.2.1); see soarlist.conf(5). */
enum club_state {
	CLUB_ACTIVE = 0,
	CLUB_SUSPENDED,
};

struct club_config {
	char *slug;
	char *name;
	char *api_url;
	char *api_key_file; /* NULL: the global one */
	char **domains;     /* lowercased, NULL-terminated, at least one */
	char **owners;      /* NULL: admin */
	enum require_auth require_auth;            /* never INHERIT */
	enum unauth_action unauthenticated_action; /* never INHERIT */
	enum verp_mode verp;                       /* never INHERIT */
	enum club_state state;
};

struct config {
	char *path;
	char *database;
	char *sendmail;
	char *admin;
	char *dev_redirect;       /* NULL when empty */
	char *api_key_file;       /* NULL when unset */
	char *log_file;           /* NULL: syslog */
	char *spool_dir;          /* NULL: $TMPDIR or /tmp */
	char *postfix_dir;        /* NULL: no Postfix tables are written */
	char *postmap;            /* path of postmap(1) */
	char *postconf;           /* path of postconf(1) */
	char *postfix_config_dir; /* NULL: Postfix's default */
	char *opendkim_config; /* doctor checks its SigningTable if it exists */
	char *dkim_dir;        /* soarlist dkim: keys, KeyTable, SigningTable */
	char *dkim_selector;   /* the selector of a domain's first key */
	char *dkim_group;      /* OpenDKIM's group: may read the keys */
	char *mail_host;       /* soarlist dns: MX target; NULL when unset */
	char *relay_spf;       /* soarlist dns: the relay's SPF mechanisms */
	char *dmarc_rua;       /* soarlist dns: DMARC reports; NULL: admin */
	char *app_login;       /* SASL login owning the noreply@ senders */
	char *authserv_id;     /* whose Authentication-Results are trusted;
				* NULL when unset (then no require_auth = dmarc) */
	GPtrArray *app_networks;  /* GInetAddressMask *: the app's clients */
	guint64 sync_max_age;     /* seconds; doctor's limit on sync age */
	guint64 sendmail_timeout; /* seconds sendmail may take, then killed */
	guint busy_timeout_ms;    /* how long SQLite waits for a lock */
	/* sync: see soarlist.conf(5) */
	guint max_parallel;        /* transfers at once */
	guint64 connect_timeout;   /* seconds */
	guint64 timeout;           /* seconds, whole transfer */
	guint retries;             /* after the first attempt */
	guint retry_backoff_ms;    /* before the first retry, then doubled */
	guint64 max_response_size; /* bytes */
	guint max_shrink;          /* percent a list may lose */
	char *ca_file;             /* NULL: the system's CAs */
	char *archive_dir;         /* NULL: no archive */
	guint hold_days;           /* held posts expire after this */
	guint bounce_threshold;    /* scores that disable an address */
	guint64 bounce_window;     /* seconds the scores count */
	enum verp_mode verp;       /* the clubs' default, never INHERIT */
	GPtrArray *clubs;          /* struct club_config *, in file order */
	GHashTable *domain_club; /* lowercased domain -> struct club_config * */
	GHashTable *lists;       /* "slug/list" -> struct list_settings * */
	GPtrArray *warnings;     /* unknown keys: one line each, not fatal */
};

/* Which file to read: EXPLICIT (from -c) if non-NULL, else $SOARLIST_CONFIG,
 * else the built-in default. Returns a static or borrowed string. */
const char *config_path(const char *explicit_path);

#define CONFIG_ERROR (g_quark_from_static_string("soarlist-config"))

enum config_error {
	CONFIG_ERROR_INVALID,   /* the file is what to fix */
	CONFIG_ERROR_TRANSIENT, /* it could not be read right now (an I/O
				 * error, no memory, no file descriptor
				 * left): try again later */
};

/* Read and validate the file at PATH. Returns a new config (free with
 * config_free) or NULL with *error (CONFIG_ERROR) set to one line that names
 * the file and the problem. */
struct config *config_load(const char *path, GError **error);

void config_free(struct config **cfg);

/* g_autoptr(Config): config_free() at the end of the scope. */
typedef struct config Config;
static inline void
config_autoptr_free(Config *cfg)
{
	config_free(&cfg);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Config, config_autoptr_free)

/* The club serving DOMAIN (any case), or NULL. Borrowed. */
const struct club_config *config_club_by_domain(const struct config *cfg,
						const char *domain);

/* The club with this slug, or NULL. Borrowed. */
const struct club_config *config_club_by_slug(const struct config *cfg,
					      const char *slug);

/* Fill *settings_r with the effective settings of list LIST of club SLUG.
 * Strings in *settings_r are borrowed from CFG. */
void config_list_settings(const struct config *cfg, const char *slug,
			  const char *list, struct list_settings *settings_r);

const char *posting_policy_name(enum posting_policy p);
const char *nonmember_action_name(enum nonmember_action a);
const char *require_auth_name(enum require_auth r);
const char *unauth_action_name(enum unauth_action a);
const char *club_state_name(enum club_state s);
const char *verp_mode_name(enum verp_mode v);

/* TRUE when CLIENT_ADDRESS (an IP address as Postfix writes it, e.g.
 * "192.0.2.10" or "2001:db8::10") is in one of CFG's app_networks. */
gboolean config_is_app_client(const struct config *cfg,
			      const char *client_address);

#endif
