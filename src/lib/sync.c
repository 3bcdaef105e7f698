/* sync.c - fetching every club's lists from M2S.
 *
 * All clubs go through one libcurl multi handle, connections reused
 * between clubs on one host. At most max_parallel transfers are in it at
 * once: the next club is added when one finishes, so that a club's timeout
 * runs from the start of its request, never from a wait in curl's queue
 * behind slow clubs (issue 11); a retry waiting out its backoff holds no
 * place, and one waiting for a place keeps its whole timeout. A
 * timeout, a connection error or an HTTP 5xx is retried (retries times,
 * backing off retry_backoff, twice that ...); a 4xx is not. Each answer is
 * checked (size, UTF-8, JSON shape: api.c) and stored (sync-store.c) as soon as
 * it arrives; a club that fails keeps its previous data and never holds the
 * others back. The API key goes in a header and nowhere else: not in
 * argv, not in a message, not in --verbose output.
 */
#include "soarlist/sync.h"

#include <openssl/evp.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <gio/gio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soarlist/db.h"

#define SYNC_ERROR (g_quark_from_static_string("soarlist-sync"))

struct fetch {
	struct sync_result *result;
	const struct config *cfg;
	const struct sync_options *opts;
	CURL *easy;
	struct curl_slist *headers;
	GByteArray *body;
	gboolean too_big;
	gboolean active; /* added to the multi handle */
	gboolean done;   /* the result is final */
	/* monotonic time from which the next attempt may start; 0 before
	 * the first one, which may start at once */
	gint64 retry_at;
	gint64 t0;
	char *redirect; /* an accepted redirect to follow now, else NULL */
	guint redirects;
	char errbuf[CURL_ERROR_SIZE];
};

static void
result_free(gpointer p)
{
	struct sync_result *r = p;

	g_free(r->error);
	if (r->warnings != NULL)
		g_ptr_array_unref(r->warnings);
	if (r->diff != NULL)
		g_ptr_array_unref(r->diff);
	if (r->unusable != NULL)
		g_ptr_array_unref(r->unusable);
	g_free(r);
}

static size_t
on_body(char *data, size_t size, size_t n, void *user)
{
	struct fetch *f = user;

	if (f->body->len + size * n > f->cfg->max_response_size) {
		f->too_big = TRUE;
		return 0; /* aborts the transfer */
	}
	g_byte_array_append(f->body, (const guint8 *)data, (guint)(size * n));
	return size * n;
}

/* The API key for CLUB from a file that only its owner may read. */
static char *
read_key(const struct config *cfg, const struct club_config *club,
	 GError **error)
{
	const char *file = club->api_key_file ? club->api_key_file
					      : cfg->api_key_file;
	char buf[4096];
	char *key;
	struct stat st;
	ssize_t n;
	int fd;

	if (file == NULL) {
		g_set_error(error, SYNC_ERROR, 0,
			    "no api_key_file for an "
			    "http(s) api_url");
		return NULL;
	}
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		g_set_error(error, SYNC_ERROR, errno, "API key file %s: %s",
			    file, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* checked and read through one descriptor: what was checked is
	 * what is read */
	if ((st.st_mode & 077) != 0) {
		close(fd);
		g_set_error(error, SYNC_ERROR, 0,
			    "API key file %s is open to "
			    "group or others: chmod 600 %s",
			    file, file);
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		g_set_error(error, SYNC_ERROR, errno, "API key file %s: %s",
			    file, g_strerror(errno));
		return NULL;
	}
	buf[n] = '\0';
	key = g_strstrip(g_strdup(buf));
	memset(buf, 0, sizeof(buf));
	if (*key == '\0' || strpbrk(key, "\r\n") != NULL) {
		g_set_error(error, SYNC_ERROR, 0,
			    "API key file %s is empty or "
			    "has several lines",
			    file);
		g_free(key);
		return NULL;
	}
	return key;
}

/* localhost, or a loopback address (127.0.0.0/8, ::1): not a name that
 * merely starts with "127." */
static gboolean
loopback_host(const char *host)
{
	char *bare = g_strdup(host);
	GInetAddress *a;
	gboolean loop;

	if (g_ascii_strcasecmp(host, "localhost") == 0) {
		g_free(bare);
		return TRUE;
	}
	if (bare[0] == '[' && g_str_has_suffix(bare, "]")) {
		memmove(bare, bare + 1, strlen(bare));
		bare[strlen(bare) - 1] = '\0';
	}
	a = g_inet_address_new_from_string(bare);
	loop = a != NULL && g_inet_address_get_is_loopback(a);
	if (a != NULL)
		g_object_unref(a);
	g_free(bare);
	return loop;
}

/* https://, file://, or http:// to a loopback host only. */
static int
check_url(const char *url, GError **error)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		g_set_error(error, SYNC_ERROR, 0,
			    "api_url %s is not a valid URL", url);
	} else if (strcmp(scheme, "http") == 0 &&
		   (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		    !loopback_host(host))) {
		g_set_error(error, SYNC_ERROR, 0,
			    "plain http:// is refused for "
			    "a host that is not loopback: use https://");
	} else {
		rc = 0;
	}
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

static int
fetch_setup(struct fetch *f, GError **error)
{
	const struct club_config *club = f->result->club;
	const struct config *cfg = f->cfg;

	if (check_url(club->api_url, error) < 0)
		return -1;
	f->body = g_byte_array_new();
	f->easy = curl_easy_init();
	if (f->easy == NULL) {
		g_set_error(error, SYNC_ERROR, 0, "curl_easy_init failed");
		return -1;
	}
	if (!g_str_has_prefix(club->api_url, "file://")) {
		char *key = read_key(cfg, club, error);
		char *h;
		if (key == NULL)
			return -1;
		h = g_strdup_printf("X-API-Key: %s", key);
		f->headers = curl_slist_append(NULL, h);
		f->headers = curl_slist_append(f->headers,
					       "Accept: application/json");
		memset(h, 0, strlen(h));
		memset(key, 0, strlen(key));
		g_free(h);
		g_free(key);
	}
	curl_easy_setopt(f->easy, CURLOPT_URL, club->api_url);
	curl_easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "http,https,file");
	/* redirects are followed by hand (see same_host_https): curl would
	 * send the key header to whatever host a redirect names */
	curl_easy_setopt(f->easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* plain http is allowed to loopback only: never through a proxy,
	 * which would carry the key in clear off this machine */
	if (g_str_has_prefix(club->api_url, "http:"))
		curl_easy_setopt(f->easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(f->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(f->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->ca_file != NULL) {
		/* the private CA replaces the system's, not adds to them */
		curl_easy_setopt(f->easy, CURLOPT_CAINFO, cfg->ca_file);
		curl_easy_setopt(f->easy, CURLOPT_CAPATH, NULL);
	}
	curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, f->headers);
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(f->easy, CURLOPT_TIMEOUT, (long)cfg->timeout);
	curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT,
			 (long)cfg->connect_timeout);
	curl_easy_setopt(f->easy, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)cfg->max_response_size);
	curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->easy, CURLOPT_USERAGENT, "soarlist-sync");
	curl_easy_setopt(f->easy, CURLOPT_PRIVATE, f);
	return 0;
}

/* The host of URL, lowercased, or NULL. Newly allocated. */
static char *
url_part(const char *url, CURLUPart part)
{
	CURLU *u = curl_url();
	char *v = NULL, *out = NULL;

	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, part, &v,
			 part == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0) ==
		    CURLUE_OK)
		out = g_ascii_strdown(v, -1);
	curl_free(v);
	curl_url_cleanup(u);
	return out;
}

/* Accept a redirect of F when it leads to https:// on the same host and
 * port (the key may go there), at most 3 times; f->redirect is then set. */
static gboolean
follow_redirect(struct fetch *f)
{
	const char *to = NULL;
	char *h1, *h2, *p1, *p2, *scheme;
	gboolean ok;

	curl_easy_getinfo(f->easy, CURLINFO_REDIRECT_URL, &to);
	if (to == NULL || f->redirects >= 3)
		return FALSE;
	scheme = url_part(to, CURLUPART_SCHEME);
	h1 = url_part(f->result->club->api_url, CURLUPART_HOST);
	h2 = url_part(to, CURLUPART_HOST);
	p1 = url_part(f->result->club->api_url, CURLUPART_PORT);
	p2 = url_part(to, CURLUPART_PORT);
	ok = g_strcmp0(scheme, "https") == 0 && h1 != NULL &&
	     g_strcmp0(h1, h2) == 0 && g_strcmp0(p1, p2) == 0;
	if (ok) {
		g_free(f->redirect);
		f->redirect = g_strdup(to);
		f->redirects++;
	}
	g_free(scheme);
	g_free(h1);
	g_free(h2);
	g_free(p1);
	g_free(p2);
	return ok;
}

/* The "error" text of an M2S error answer ({"error": "..."}) in F's body,
 * made printable, or NULL. Newly allocated. */
static char *
answer_error(const struct fetch *f)
{
	cJSON *root = cJSON_ParseWithLength((const char *)f->body->data,
					    f->body->len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	char *out = cJSON_IsString(e) ? api_printable(e->valuestring, 120)
				      : NULL;

	cJSON_Delete(root);
	return out;
}

/* An HTTP error answer of M2S: the key refused (ours to fix), the key not
 * configured on the server (the M2S operator's to fix: asking again does
 * not help), anything else. Sets *error; *retry_r for a 5xx or 429. */
static void
http_error(struct fetch *f, long status, gboolean *retry_r, GError **error)
{
	const char *url = f->result->club->api_url;
	const char *slug = f->result->club->slug;
	char *said = answer_error(f);

	*retry_r = status >= 500 || status == 429;
	if (status == 401 || status == 403) {
		g_set_error(error, SYNC_ERROR, 0,
			    "M2S refused the API key of "
			    "club %s (HTTP %ld): check its api_key_file",
			    slug, status);
	} else if (status == 500 && said != NULL &&
		   strstr(said, "API key not configured") != NULL) {
		g_set_error(error, SYNC_ERROR, 0,
			    "M2S at %s has no API key "
			    "configured on the server (HTTP 500 \"%s\"): ask "
			    "the M2S operator to configure it there; club %s's "
			    "api_key_file is not the problem",
			    url, said, slug);
		*retry_r = FALSE;
	} else if (said != NULL) {
		g_set_error(error, SYNC_ERROR, 0,
			    "fetching %s: HTTP status %ld "
			    "\"%s\"",
			    url, status, said);
	} else {
		g_set_error(error, SYNC_ERROR, 0,
			    "fetching %s: HTTP status %ld", url, status);
	}
	g_free(said);
}

/* Why transfer F failed, and whether trying again may help. Returns
 * TRUE when it succeeded. */
static gboolean
classify(struct fetch *f, CURLcode code, gboolean *retry_r, GError **error)
{
	const char *url = f->result->club->api_url;
	long status = 0;

	*retry_r = FALSE;
	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	f->result->http_status = status;
	if (f->too_big || code == CURLE_FILESIZE_EXCEEDED) {
		g_set_error(error, SYNC_ERROR, 0,
			    "answer larger than "
			    "max_response_size (%" G_GUINT64_FORMAT " bytes)",
			    f->cfg->max_response_size);
		return FALSE;
	}
	if (code != CURLE_OK) {
		*retry_r = code == CURLE_OPERATION_TIMEDOUT ||
			   code == CURLE_COULDNT_CONNECT ||
			   code == CURLE_COULDNT_RESOLVE_HOST ||
			   code == CURLE_RECV_ERROR ||
			   code == CURLE_SEND_ERROR ||
			   code == CURLE_GOT_NOTHING ||
			   code == CURLE_PARTIAL_FILE;
		g_set_error(error, SYNC_ERROR, 0, "fetching %s: %s%s", url,
			    f->errbuf[0] ? f->errbuf : curl_easy_strerror(code),
			    code == CURLE_PEER_FAILED_VERIFICATION
				    ? " (for a private CA, set ca_file)"
				    : "");
		return FALSE;
	}
	if (g_str_has_prefix(url, "file://") || status == 200)
		return TRUE;
	if (status >= 300 && status < 400 && follow_redirect(f))
		return FALSE;
	if (status >= 300 && status < 400)
		g_set_error(
			error, SYNC_ERROR, 0,
			"fetching %s: HTTP %ld "
			"redirect refused (only https:// on the same host is "
			"followed): set api_url to the final address",
			url, status);
	else
		http_error(f, status, retry_r, error);
	return FALSE;
}

static void
fetch_clear(struct fetch *f)
{
	if (f->easy != NULL)
		curl_easy_cleanup(f->easy);
	curl_slist_free_all(f->headers);
	if (f->body != NULL)
		g_byte_array_unref(f->body);
	g_free(f->redirect);
}

/* The hex SHA-256 of the answer, which tells an unchanged one: libcrypto's
 * (several times faster than GLib's on 15 MB of answers a sync, issue
 * 10), or NULL when it cannot (then the answer is parsed and stored). */
static char *
sha256(const GByteArray *body)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	GString *hex;

	if (EVP_Digest(body->data, body->len, md, &n, EVP_sha256(), NULL) != 1)
		return NULL;
	hex = g_string_sized_new(2 * n);
	for (unsigned int i = 0; i < n; i++)
		g_string_append_printf(hex, "%02x", md[i]);
	return g_string_free(hex, FALSE);
}

/* Parse and store a successful answer; any failure becomes the result's
 * error. */
static void
accept_body(sqlite3 *db, struct fetch *f, GError **error)
{
	struct api_data *d;
	char *sha = sha256(f->body);

	/* the same bytes as last time: nothing can have changed */
	if (sync_store_unchanged(db, sha, f->opts, f->result) == 1) {
		f->result->ok = TRUE;
		g_free(sha);
		return;
	}
	if (!g_utf8_validate((const char *)f->body->data, f->body->len, NULL)) {
		g_set_error(error, SYNC_ERROR, 0, "%s: the answer is not UTF-8",
			    f->result->club->api_url);
		g_free(sha);
		return;
	}
	d = api_parse((const char *)f->body->data, f->body->len, error);
	if (d == NULL) {
		g_prefix_error(error, "%s: ", f->result->club->api_url);
		g_free(sha);
		return;
	}
	if (sync_store(db, f->cfg, d, sha, f->opts, f->result, error) == 0)
		f->result->ok = TRUE;
	g_free(sha);
	api_data_free(&d);
}

static void
finish(sqlite3 *db, struct fetch *f, GError *err, gint64 started)
{
	GError *rec = NULL;

	if (err != NULL && f->result->error == NULL)
		f->result->error = g_strdup(err->message);
	/* another process held the lock: nothing wrong with the club */
	if (g_error_matches(err, DB_ERROR, DB_ERROR_BUSY))
		f->result->db_busy = TRUE;
	f->result->ok = f->result->ok && f->result->error == NULL;
	f->done = TRUE;
	if (!f->opts->dry_run &&
	    sync_record(db, f->result, started, &rec) < 0) {
		/* the data is stored; only the history line is missing, but
		 * status and doctor read the age of the last sync from it */
		if (f->result->warnings == NULL)
			f->result->warnings = g_ptr_array_new_with_free_func(
				g_free);
		g_ptr_array_add(
			f->result->warnings,
			g_strdup_printf("the sync history is not updated: %s",
					rec->message));
		if (g_error_matches(rec, DB_ERROR, DB_ERROR_BUSY))
			f->result->db_busy = TRUE;
		g_clear_error(&rec);
	}
	if (f->opts->progress != NULL)
		f->opts->progress(f->result, f->opts->user);
}

static void
describe(const struct fetch *f, CURLcode code)
{
	double ms = (double)(g_get_monotonic_time() - f->t0) / 1000.0;

	if (!f->opts->verbose)
		return;
	fprintf(stderr,
		"soarlist: sync %s: GET %s attempt %u: %s, HTTP %ld, "
		"%u bytes, %.0f ms\n",
		f->result->club->slug, f->result->club->api_url,
		f->result->attempts,
		code == CURLE_OK ? "done" : curl_easy_strerror(code),
		f->result->http_status, f->body->len, ms);
}

static void
start(CURLM *multi, struct fetch *f)
{
	g_byte_array_set_size(f->body, 0);
	f->too_big = FALSE;
	f->errbuf[0] = '\0';
	f->retry_at = 0;
	f->t0 = g_get_monotonic_time();
	f->result->attempts++;
	f->active = TRUE;
	curl_multi_add_handle(multi, f->easy);
}

/* Handle every transfer that finished: store it, retry it, or fail it. */
static void
collect(CURLM *multi, sqlite3 *db, gint64 started)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		struct fetch *f = NULL;
		gboolean retry;
		GError *err = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
				  (char **)&f);
		curl_multi_remove_handle(multi, f->easy);
		f->active = FALSE;
		if (!classify(f, m->data.result, &retry, &err) &&
		    f->redirect != NULL) {
			describe(f, m->data.result);
			curl_easy_setopt(f->easy, CURLOPT_URL, f->redirect);
			g_clear_pointer(&f->redirect, g_free);
			f->result->attempts--; /* the same attempt, moved on */
			start(multi, f);
			continue;
		}
		if (err == NULL) {
			describe(f, m->data.result);
			accept_body(db, f, &err);
		} else {
			describe(f, m->data.result);
			if (retry && f->result->attempts <= f->cfg->retries) {
				f->retry_at =
					g_get_monotonic_time() +
					((gint64)f->cfg->retry_backoff_ms * 1000
					 << (f->result->attempts - 1));
				g_clear_error(&err);
				continue;
			}
		}
		finish(db, f, err, started);
		g_clear_error(&err);
	}
}

/* Fill the free places of the multi handle (MAX in all) with the clubs
 * due to start, first attempts and due retries, in config order; returns
 * how long to wait (ms) for the next event, or -1 when nothing is left to
 * do. Only the transfers in the multi handle run against their timeout:
 * the others wait here, where time costs them nothing. */
static long
next_wait(CURLM *multi, GArray *fetches, guint max)
{
	gint64 now = g_get_monotonic_time(), soonest = G_MAXINT64;
	gboolean pending = FALSE;
	guint active = 0;
	long wait = 1000;

	for (guint i = 0; i < fetches->len; i++) {
		const struct fetch *f = &g_array_index(fetches, struct fetch,
						       i);

		if (f->active)
			active++;
	}
	for (guint i = 0; i < fetches->len; i++) {
		struct fetch *f = &g_array_index(fetches, struct fetch, i);

		if (f->done)
			continue;
		pending = TRUE;
		if (f->active)
			continue;
		if (f->retry_at > now) {
			soonest = MIN(soonest, f->retry_at);
		} else if (active < max) {
			start(multi, f);
			active++;
		}
	}
	if (!pending)
		return -1;
	curl_multi_timeout(multi, &wait);
	if (wait < 0 || wait > 1000)
		wait = 1000;
	if (soonest != G_MAXINT64)
		wait = MIN(wait, (long)((soonest - now) / 1000) + 1);
	return wait;
}

static void
perform_all(CURLM *multi, GArray *fetches, guint max, sqlite3 *db,
	    gint64 started)
{
	long wait;
	int running = 0;

	while ((wait = next_wait(multi, fetches, max)) >= 0) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		collect(multi, db, started);
		wait = next_wait(multi, fetches, max);
		if (wait < 0)
			break;
		/* file:// transfers have no socket to wake us: wait 0 */
		if (wait > 0)
			curl_multi_poll(multi, NULL, 0, (int)wait, NULL);
	}
}

gboolean
sync_takes(const struct club_config *c, char **only)
{
	/* a suspended club keeps what it has */
	return c->state != CLUB_SUSPENDED &&
	       (only == NULL ||
		g_strv_contains((const char *const *)only, c->slug));
}

GPtrArray *
sync_run(sqlite3 *db, const struct config *cfg, char **only,
	 const struct sync_options *opts, GError **error)
{
	GPtrArray *results = g_ptr_array_new_with_free_func(result_free);
	GArray *fetches = g_array_new(FALSE, TRUE, sizeof(struct fetch));
	gint64 started = g_get_real_time() / G_USEC_PER_SEC;
	CURLM *multi;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (multi = curl_multi_init()) == NULL) {
		g_set_error(error, SYNC_ERROR, 0, "cannot initialise libcurl");
		g_ptr_array_unref(results);
		g_array_unref(fetches);
		return NULL;
	}
	/* with at most max_parallel transfers, a bound that never makes one
	 * wait: it only closes an idle connection to another host first */
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
			  (long)cfg->max_parallel);
	for (guint i = 0; i < cfg->clubs->len; i++) {
		struct sync_result *r = g_new0(struct sync_result, 1);

		r->club = g_ptr_array_index(cfg->clubs, i);
		if (sync_takes(r->club, only))
			g_ptr_array_add(results, r);
		else
			g_free(r);
	}
	/* sized once: CURLOPT_PRIVATE pointers into it stay valid */
	g_array_set_size(fetches, results->len);
	for (guint i = 0; i < results->len; i++) {
		struct fetch *f = &g_array_index(fetches, struct fetch, i);
		GError *err = NULL;

		f->result = g_ptr_array_index(results, i);
		f->cfg = cfg;
		f->opts = opts;
		/* started by next_wait(), max_parallel at a time */
		if (fetch_setup(f, &err) < 0) {
			finish(db, f, err, started);
			g_error_free(err);
		}
	}
	perform_all(multi, fetches, MAX(cfg->max_parallel, 1), db, started);
	for (guint i = 0; i < fetches->len; i++)
		fetch_clear(&g_array_index(fetches, struct fetch, i));
	curl_multi_cleanup(multi);
	g_array_unref(fetches);
	return results;
}
