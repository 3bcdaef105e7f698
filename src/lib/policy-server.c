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
	GPtrArray *members = catalog_recipients(db, ref->id, error);
	char *action;

	if (members == NULL)
		return NULL;
	action = members->len > 0
		? g_strdup("DUNNO")
		: g_strdup_printf("550 5.2.1 %s has no members: nobody would "
				  "receive this post", ref->address);
	g_ptr_array_unref(members);
	return action;
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
	if (policy_decide(db, ref, sender, NULL, &pr, error) < 0)
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

/* Read one request into ATTRS. Returns 1 for a request, 0 at the end of
 * input, -1 on a protocol error. */
static int
read_request(FILE *in, GHashTable *attrs)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int count = 0;

	g_hash_table_remove_all(attrs);
	while ((n = getline(&line, &cap, in)) > 0) {
		char *eq;

		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0) {
			free(line);
			return count > 0 ? 1 : -1;
		}
		eq = strchr(line, '=');
		if (eq == NULL || n > MAX_LINE || ++count > MAX_ATTRS) {
			maillog_error("policy: protocol error: bad request line");
			free(line);
			return -1;
		}
		*eq = '\0';
		g_hash_table_replace(attrs, g_strdup(line), g_strdup(eq + 1));
	}
	free(line);
	return count == 0 ? 0 : -1; /* end of input mid-request */
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

int
policy_server_run(const struct config *first, int in_fd, int out_fd)
{
	FILE *in = fdopen(dup(in_fd), "r");
	GHashTable *attrs = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, g_free);
	struct config *reloaded = NULL;
	gint64 mtime = config_mtime(first->path);
	sqlite3 *db = NULL;
	int rc;

	if (in == NULL)
		return -1;
	while ((rc = read_request(in, attrs)) == 1) {
		const struct config *cfg = current_config(first, &reloaded, &mtime);
		GError *err = NULL;
		char *action, *reply;

		/* opened per request: smtpd keeps this connection for minutes,
		 * and a database replaced or repaired meanwhile must be seen */
		db = db_open(cfg->database, DB_EXISTING, &err);
		if (db == NULL) {
			maillog_warning("policy: %s", err->message);
			g_error_free(err);
		}
		action = policy_server_answer(db, cfg, attrs);
		db_close(&db);
		reply = g_strdup_printf("action=%s\n\n", action);
		if (write(out_fd, reply, strlen(reply)) != (ssize_t)strlen(reply))
			rc = -1;
		g_free(reply);
		g_free(action);
		if (rc < 0)
			break;
	}
	db_close(&db);
	config_free(&reloaded);
	g_hash_table_unref(attrs);
	fclose(in);
	return rc < 0 ? -1 : 0;
}
