/* policy-server.c - soarlist's Postfix policy service.
 *
 * Refusing a stranger at RCPT TO, during the SMTP dialogue, means no bounce
 * is ever generated for the post (no backscatter). What is not ours to
 * decide gets DUNNO so the rest of smtpd's restrictions run: other
 * protocol states, addresses that are not list posts, the null sender.
 * Every client is asked, trusted networks and SASL logins
 * included: a post the delivery agent would refuse must never be accepted
 * here, or its refusal becomes a bounce. A database we cannot read gets
 * DEFER_IF_PERMIT: neither let through unchecked nor refused for good.
 * The app's own sender, noreply@ a club domain, is refused to every client
 * but the app (its SASL login app_login, or a client in app_networks).
 * Input never hurts: a line is never read past MAX_LINE bytes, CRLF ends
 * are accepted, and a malformed request (a repeated attribute, a NUL byte)
 * gets a temporary answer, like a database we cannot read.
 */
#include "soarlist/policy-server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soarlist/address.h"
#include "soarlist/db.h"
#include "soarlist/decide.h"
#include "soarlist/maillog.h"

#define MAX_LINE 8192
#define MAX_ATTRS 256
#define DEFER "DEFER_IF_PERMIT 4.3.0 list database unavailable, try again later"
#define MALFORMED "DEFER_IF_PERMIT 4.3.0 malformed policy request: "

enum request_status {
	REQUEST_END, /* the end of input, between requests */
	REQUEST_OK,
	REQUEST_MALFORMED, /* answered with a deferral; the next is read */
	REQUEST_BROKEN,    /* answered with a deferral; the connection ends */
};

static const char *
attr(GHashTable *attrs, const char *name)
{
	const char *v = g_hash_table_lookup(attrs, name);

	return v != NULL ? v : "";
}

/* The answer to a verdict at RCPT TO: a refusal the delivery agent would
 * bounce is refused now; everything else is the agent's to decide. */
static char *
answer(const struct verdict *v)
{
	switch (v->outcome) {
	case OUTCOME_REFUSE:
	case OUTCOME_NO_MEMBERS:
		return g_strdup_printf("550 %s", v->line);
	case OUTCOME_TOO_BIG:
		return g_strdup_printf("552 %s", v->line);
	default:
		/* no such list: relay_recipient_maps refuses it; held or
		 * discarded: no bounce either way */
		return g_strdup("DUNNO");
	}
}

/* The decision for a RCPT TO, by decide.h as the delivery agent decides
 * (without the message), logged when it refuses. */
static char *
decide_rcpt(sqlite3 *db, const struct config *cfg, GHashTable *attrs,
	    gboolean app)
{
	const char *sender = attr(attrs, "sender");
	const char *size = attr(attrs, "size");
	struct decide_input in = {
		.cfg = cfg,
		.recipient = attr(attrs, "recipient"),
		.sender = sender,
		.size = g_ascii_isdigit(*size)
				? (gint64)g_ascii_strtoull(size, NULL, 10)
				: -1,
		.client = app ? CLIENT_APP : CLIENT_OTHER,
	};
	struct verdict v = { 0 };
	GError *err = NULL;
	char *action = NULL;

	if (decide_address(&in, &v) || v.rcpt.kind != RECIPIENT_POST)
		action = answer(&v);
	else if (db != NULL && decide_resolve(db, &in, &v, &err) == 0)
		action = answer(&v);
	if (action == NULL) {
		maillog_warning("policy: %s",
				err ? err->message : "database not open");
		g_clear_error(&err);
		action = g_strdup(DEFER);
	} else if (g_ascii_isdigit(action[0])) {
		maillog_info("policy list=<%s> sender=<%s> action=reject "
			     "client=%s reason=%s",
			     v.list.address ? v.list.address : in.recipient,
			     sender, attr(attrs, "client_address"), action + 4);
	}
	verdict_clear(&v);
	return action;
}

/* TRUE when the client is the M2S app: logged in with SASL as app_login,
 * or connected from one of app_networks. */
static gboolean
app_client(const struct config *cfg, GHashTable *attrs)
{
	const char *login = attr(attrs, "sasl_username");

	return (*login != '\0' && strcmp(login, cfg->app_login) == 0) ||
	       config_is_app_client(cfg, attr(attrs, "client_address"));
}

char *
policy_server_answer(sqlite3 *db, const struct config *cfg, GHashTable *attrs)
{
	if (g_ascii_strcasecmp(attr(attrs, "protocol_state"), "RCPT") != 0)
		return g_strdup("DUNNO");
	/* a refusal of the null sender bounces to nobody: the delivery
	 * agent judges such mail by its From */
	if (*attr(attrs, "sender") == '\0')
		return g_strdup("DUNNO");
	/* asked for every client, trusted networks included (see main.cf) */
	return decide_rcpt(db, cfg, attrs, app_client(cfg, attrs));
}

/* What read_line() returns besides a length. */
#define LINE_EOF (-1)      /* the end of input before any byte */
#define LINE_TOO_LONG (-2) /* over MAX_LINE: reading stopped there */

/* Read one line of at most MAX_LINE bytes into BUF (MAX_LINE + 1 bytes),
 * without its LF or CRLF, NUL-terminated; *nul_r tells whether it held a
 * NUL byte. Returns its length, LINE_EOF or LINE_TOO_LONG: a longer line
 * is never read further, whatever its length. */
static ssize_t
read_line(FILE *in, char *buf, gboolean *nul_r)
{
	size_t n = 0;
	int c;

	*nul_r = FALSE;
	while ((c = getc(in)) != EOF && c != '\n') {
		if (n == MAX_LINE)
			return LINE_TOO_LONG;
		if (c == '\0')
			*nul_r = TRUE;
		buf[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return LINE_EOF;
	if (n > 0 && buf[n - 1] == '\r')
		n--; /* CRLF */
	buf[n] = '\0';
	return (ssize_t)n;
}

/* Add the attribute in LINE to ATTRS; NUL: the line held a NUL byte (what
 * the string shows is not all of it). Returns NULL, or why the line is
 * malformed. */
static const char *
add_attr(GHashTable *attrs, char *line, gboolean nul)
{
	char *eq = strchr(line, '=');

	if (nul)
		return "NUL byte in an attribute";
	if (eq == NULL || eq == line)
		return "line not of the form name=value";
	*eq = '\0';
	/* two values for one name: which would smtpd have meant? */
	if (g_hash_table_contains(attrs, line))
		return "repeated attribute";
	g_hash_table_insert(attrs, g_strdup(line), g_strdup(eq + 1));
	return NULL;
}

/* Read one request into ATTRS, with BUF as line buffer. A malformed line
 * (*why_r says why) is read over to the request's empty line, so that the
 * next request is read in step: REQUEST_MALFORMED. A line too long or too
 * many lines stop the reading for good: REQUEST_BROKEN. */
static enum request_status
read_request(FILE *in, GHashTable *attrs, char *buf, const char **why_r)
{
	int count = 0;

	g_hash_table_remove_all(attrs);
	*why_r = NULL;
	for (;;) {
		gboolean nul;
		ssize_t n = read_line(in, buf, &nul);

		if (n == LINE_EOF && count == 0)
			return REQUEST_END;
		if (n == LINE_EOF || n == LINE_TOO_LONG) {
			*why_r =
				n == LINE_EOF
					? "end of input in the middle of a request"
					: "line longer than " G_STRINGIFY(
						  MAX_LINE) " bytes";
			return REQUEST_BROKEN;
		}
		if (n == 0) {
			if (count == 0)
				*why_r = "empty request";
			return *why_r == NULL ? REQUEST_OK : REQUEST_MALFORMED;
		}
		if (++count > MAX_ATTRS) {
			*why_r = "more than " G_STRINGIFY(
				MAX_ATTRS) " attributes";
			return REQUEST_BROKEN;
		}
		if (*why_r == NULL)
			*why_r = add_attr(attrs, buf, nul);
	}
}

/* The config's modification time, 0 when it cannot be read. */
static gint64
config_mtime(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (gint64)st.st_mtim.tv_sec * 1000000000 +
					      st.st_mtim.tv_nsec
				    : 0;
}

/* smtpd keeps the connection to this process for minutes: a config edited
 * meanwhile is read again, and a broken one leaves the last good one in
 * use (and is logged). Returns the config to use. */
static const struct config *
current_config(const struct config *first, struct config **reloaded,
	       gint64 *mtime)
{
	gint64 now = config_mtime(first->path);
	GError *err = NULL;
	struct config *cfg;

	if (now == 0 || now == *mtime)
		return *reloaded ? *reloaded : first;
	*mtime = now;
	cfg = config_load(first->path, &err);
	if (cfg == NULL) {
		maillog_error("policy: %s (the previous config stays in use)",
			      err->message);
		g_error_free(err);
		return *reloaded ? *reloaded : first;
	}
	config_free(reloaded);
	*reloaded = cfg;
	return cfg;
}

/* The database connection of this process, kept across requests so that
 * its statements are compiled once (db_stmt()); smtpd keeps this
 * connection for minutes, and a database replaced meanwhile (another
 * file at the path, or another path in a reloaded config) is opened
 * again. */
struct conn {
	sqlite3 *db;
	char *path;
	dev_t dev;
	ino_t ino;
};

static sqlite3 *
conn_get(struct conn *c, const struct config *cfg)
{
	const char *path = cfg->database;
	struct stat st;
	GError *err = NULL;

	if (stat(path, &st) < 0)
		st = (struct stat){ 0 };
	if (c->db != NULL && g_strcmp0(c->path, path) == 0 &&
	    st.st_dev == c->dev && st.st_ino == c->ino)
		return c->db;
	db_close(&c->db);
	g_free(c->path);
	c->path = g_strdup(path);
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->db = db_open(path, DB_EXISTING, cfg->busy_timeout_ms, &err);
	/* asked once per RCPT TO: it leaves the WAL to the soarlist commands,
	 * as the delivery agent does */
	if (c->db != NULL && db_agent_mode(c->db, &err) < 0)
		db_close(&c->db);
	if (c->db == NULL) {
		maillog_warning("policy: %s", err->message);
		g_error_free(err);
	}
	return c->db;
}

static void
conn_close(struct conn *c)
{
	db_close(&c->db);
	g_free(c->path);
}

/* The action for one well-formed request, with the current config. */
static char *
request_action(struct conn *c, const struct config *cfg, GHashTable *attrs)
{
	char *action = policy_server_answer(conn_get(c, cfg), cfg, attrs);

	/* a connection that failed is opened afresh for the next request */
	if (g_str_has_prefix(action, "DEFER_IF_PERMIT"))
		db_close(&c->db);
	return action;
}

/* Write "action=ACTION" and the empty line. Returns 0 or -1. */
static int
send_action(int out_fd, const char *action)
{
	g_autofree char *reply = g_strdup_printf("action=%s\n\n", action);

	return write(out_fd, reply, strlen(reply)) == (ssize_t)strlen(reply)
		       ? 0
		       : -1;
}

int
policy_server_run(const struct config *first, int in_fd, int out_fd)
{
	FILE *in = fdopen(dup(in_fd), "r");
	GHashTable *attrs = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, g_free);
	struct config *reloaded = NULL;
	struct conn conn = { 0 };
	gint64 mtime = config_mtime(first->path);
	char *buf = g_malloc(MAX_LINE + 1);
	enum request_status st = REQUEST_END;
	const char *why;
	int rc = 0;

	if (in == NULL)
		rc = -1;
	while (rc == 0 &&
	       (st = read_request(in, attrs, buf, &why)) != REQUEST_END) {
		char *action;

		if (st == REQUEST_OK) {
			action = request_action(
				&conn, current_config(first, &reloaded, &mtime),
				attrs);
		} else {
			/* never from a sane smtpd: neither let through nor
			 * refused for good */
			maillog_error("policy: protocol error: %s", why);
			action = g_strconcat(MALFORMED, why, NULL);
		}
		if (send_action(out_fd, action) < 0 || st == REQUEST_BROKEN)
			rc = -1;
		g_free(action);
	}
	conn_close(&conn);
	config_free(&reloaded);
	g_hash_table_unref(attrs);
	g_free(buf);
	if (in != NULL)
		fclose(in);
	return rc;
}
