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
#include "soarlist/catalog.h"
#include "soarlist/db.h"
#include "soarlist/maillog.h"
#include "soarlist/policy.h"
#include "soarlist/recipient.h"

#define MAX_LINE 8192
#define MAX_ATTRS 256
#define DEFER "DEFER_IF_PERMIT 4.3.0 list database unavailable, try again later"
#define MALFORMED "DEFER_IF_PERMIT 4.3.0 malformed policy request: "

enum request_status {
	REQUEST_END,       /* the end of input, between requests */
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

/* What the delivery agent would answer before its policy: a post over the
 * list's max_size (when the client announced its size with SIZE=). */
static char *
size_refusal(const struct list_ref *ref, const char *size)
{
	guint64 n = g_ascii_strtoull(size, NULL, 10);

	if (ref->settings.max_size == 0 || n <= ref->settings.max_size)
		return NULL;
	return g_strdup_printf("552 5.3.4 message of %" G_GUINT64_FORMAT
			       " bytes exceeds the %" G_GUINT64_FORMAT
			       "-byte limit of %s", n,
			       (guint64)ref->settings.max_size, ref->address);
}

/* The action for a post to REF the policy lets through: refused when the
 * list has nobody to receive it, as the delivery agent would. NULL with
 * *error when the database cannot say. */
static char *
distribute_action(sqlite3 *db, const struct list_ref *ref, GError **error)
{
	int rc = catalog_has_recipients(db, ref->id, error);

	if (rc < 0)
		return NULL;
	return rc == 1 ? g_strdup("DUNNO")
		       : g_strdup_printf("550 5.2.1 %s has no members: nobody "
					 "would receive this post", ref->address);
}

/* The action for REF once resolved: the same checks, in the same order, as
 * the delivery agent's post(). NULL with *error on a database error. */
static char *
list_action(sqlite3 *db, const struct list_ref *ref, const char *sender,
	    const char *size, GError **error)
{
	struct policy_result pr = { 0 };
	char *action = size_refusal(ref, size);

	if (action != NULL)
		return action;
	if (policy_decide(db, ref, sender, NULL, NULL, &pr, error) < 0)
		return NULL;
	if (pr.decision == DECISION_REJECT)
		action = g_strdup_printf("550 %s", pr.reason);
	else if (pr.decision == DECISION_DISTRIBUTE)
		action = distribute_action(db, ref, error);
	else
		action = g_strdup("DUNNO"); /* held or discarded: no bounce */
	policy_result_clear(&pr);
	return action;
}

/* The decision for a RCPT TO a list post address, in a read transaction. */
static char *
decide(sqlite3 *db, const struct config *cfg, const struct recipient *r,
       GHashTable *attrs)
{
	struct list_ref ref = { 0 };
	const char *sender = attr(attrs, "sender");
	GError *err = NULL;
	char *action = NULL;
	int rc;

	if (db_exec(db, "BEGIN", &err) < 0)
		goto fail;
	rc = catalog_resolve(db, cfg, r->list, r->domain, &ref, &err);
	if (rc == 1)
		action = list_action(db, &ref, sender, attr(attrs, "size"),
				     &err);
	else if (rc == 0)
		action = g_strdup("DUNNO"); /* relay_recipient_maps refuses it */
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (action != NULL && g_ascii_isdigit(action[0]))
		maillog_info("policy list=<%s> sender=<%s> action=reject "
			     "client=%s reason=%s", ref.address, sender,
			     attr(attrs, "client_address"), action + 4);
	list_ref_clear(&ref);
	if (action == NULL)
		goto fail;
	return action;
fail:
	maillog_warning("policy: %s", err ? err->message : "unknown error");
	g_clear_error(&err);
	return g_strdup(DEFER);
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
	struct recipient r;
	const char *sender = attr(attrs, "sender");
	char *action;

	if (g_ascii_strcasecmp(attr(attrs, "protocol_state"), "RCPT") != 0)
		return g_strdup("DUNNO");
	/* asked for every client, trusted networks included (see main.cf) */
	if (policy_app_sender_club(cfg, sender) != NULL &&
	    !app_client(cfg, attrs)) {
		maillog_info("policy sender=<%s> client=%s action=reject "
			     "reason=reserved sender", sender,
			     attr(attrs, "client_address"));
		return g_strdup_printf("550 5.7.1 <%s> is reserved for the "
				       "Manage2Soar application", sender);
	}
	/* a refusal of the null sender bounces to nobody: the delivery
	 * agent judges such mail by its From */
	if (*sender == '\0')
		return g_strdup("DUNNO");
	if (recipient_parse(attr(attrs, "recipient"), &r) < 0)
		return g_strdup("DUNNO");
	if (r.kind != RECIPIENT_POST ||
	    config_club_by_domain(cfg, r.domain) == NULL)
		action = g_strdup("DUNNO");
	else if (db == NULL)
		action = g_strdup(DEFER);
	else
		action = decide(db, cfg, &r, attrs);
	recipient_clear(&r);
	return action;
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
			*why_r = n == LINE_EOF
				? "end of input in the middle of a request"
				: "line longer than " G_STRINGIFY(MAX_LINE) " bytes";
			return REQUEST_BROKEN;
		}
		if (n == 0) {
			if (count == 0)
				*why_r = "empty request";
			return *why_r == NULL ? REQUEST_OK : REQUEST_MALFORMED;
		}
		if (++count > MAX_ATTRS) {
			*why_r = "more than " G_STRINGIFY(MAX_ATTRS) " attributes";
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

/* The action for one well-formed request, with the current config and a
 * database opened for it: smtpd keeps this connection for minutes, and a
 * database replaced or repaired meanwhile must be seen. */
static char *
request_action(const struct config *cfg, GHashTable *attrs)
{
	GError *err = NULL;
	sqlite3 *db = db_open(cfg->database, DB_EXISTING, &err);
	char *action;

	/* asked once per RCPT TO: it leaves the WAL to the soarlist commands,
	 * as the delivery agent does */
	if (db != NULL && db_agent_mode(db, &err) < 0)
		db_close(&db);
	if (db == NULL) {
		maillog_warning("policy: %s", err->message);
		g_error_free(err);
	}
	action = policy_server_answer(db, cfg, attrs);
	db_close(&db);
	return action;
}

/* Write "action=ACTION" and the empty line. Returns 0 or -1. */
static int
send_action(int out_fd, const char *action)
{
	g_autofree char *reply = g_strdup_printf("action=%s\n\n", action);

	return write(out_fd, reply, strlen(reply)) == (ssize_t)strlen(reply)
		       ? 0 : -1;
}

int
policy_server_run(const struct config *first, int in_fd, int out_fd)
{
	FILE *in = fdopen(dup(in_fd), "r");
	GHashTable *attrs = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, g_free);
	struct config *reloaded = NULL;
	gint64 mtime = config_mtime(first->path);
	char *buf = g_malloc(MAX_LINE + 1);
	enum request_status st = REQUEST_END;
	const char *why;
	int rc = 0;

	if (in == NULL)
		rc = -1;
	while (rc == 0 && (st = read_request(in, attrs, buf, &why)) != REQUEST_END) {
		char *action;

		if (st == REQUEST_OK) {
			action = request_action(current_config(first, &reloaded,
							       &mtime), attrs);
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
	config_free(&reloaded);
	g_hash_table_unref(attrs);
	g_free(buf);
	if (in != NULL)
		fclose(in);
	return rc;
}
