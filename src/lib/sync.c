/* sync.c - fetching every club's lists from M2S and storing them.
 *
 * All clubs are fetched at once with libcurl's multi interface; each answer
 * is parsed and validated (api.c) and stored in its own transaction, so a
 * club whose fetch or parse fails keeps its previous data and the others
 * are not held back. List rows are updated in place (ids stay stable, so
 * duplicate-suppression and held posts keep pointing at them).
 */
#include "soarlist/sync.h"

#include <curl/curl.h>
#include <string.h>

#include "soarlist/db.h"

#define SYNC_ERROR (g_quark_from_static_string("soarlist-sync"))
#define SYNC_MAX_BODY (32 * 1024 * 1024)
#define SYNC_TIMEOUT_S 60L
#define SYNC_CONNECT_TIMEOUT_S 15L

struct fetch {
	struct sync_result *result;
	CURL *easy;
	struct curl_slist *headers;
	GByteArray *body;
	gboolean too_big;
	gboolean done; /* the result is final (stored or failed) */
	char errbuf[CURL_ERROR_SIZE];
};

static void
result_free(gpointer p)
{
	struct sync_result *r = p;

	g_free(r->error);
	if (r->warnings != NULL)
		g_ptr_array_unref(r->warnings);
	g_free(r);
}

static size_t
on_body(char *data, size_t size, size_t n, void *user)
{
	struct fetch *f = user;

	if (f->body->len + size * n > SYNC_MAX_BODY) {
		f->too_big = TRUE;
		return 0; /* aborts the transfer */
	}
	g_byte_array_append(f->body, (const guint8 *)data, (guint)(size * n));
	return size * n;
}

/* The API key for CLUB: its own file, else the global one. */
static char *
read_key(const struct config *cfg, const struct club_config *club,
	 GError **error)
{
	const char *file = club->api_key_file ? club->api_key_file
					      : cfg->api_key_file;
	char *key = NULL;

	if (file == NULL) {
		g_set_error(error, SYNC_ERROR, 0, "no api_key_file for an "
			    "http(s) api_url");
		return NULL;
	}
	if (!g_file_get_contents(file, &key, NULL, error)) {
		g_prefix_error(error, "API key: ");
		return NULL;
	}
	g_strstrip(key);
	if (*key == '\0' || strpbrk(key, "\r\n") != NULL) {
		g_set_error(error, SYNC_ERROR, 0, "API key file %s is empty or "
			    "has several lines", file);
		g_free(key);
		return NULL;
	}
	return key;
}

static int
fetch_setup(struct fetch *f, const struct config *cfg, GError **error)
{
	const struct club_config *club = f->result->club;

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
		g_free(h);
		g_free(key);
	}
	curl_easy_setopt(f->easy, CURLOPT_URL, club->api_url);
	curl_easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, f->headers);
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(f->easy, CURLOPT_TIMEOUT, SYNC_TIMEOUT_S);
	curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT, SYNC_CONNECT_TIMEOUT_S);
	curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->easy, CURLOPT_USERAGENT, "soarlist/" "sync");
	curl_easy_setopt(f->easy, CURLOPT_PRIVATE, f);
	return 0;
}

/* Check the finished transfer F; on success return its parsed data. */
static struct api_data *
fetch_finish(struct fetch *f, CURLcode code, GError **error)
{
	long status = 0;
	const char *url = f->result->club->api_url;

	if (f->too_big) {
		g_set_error(error, SYNC_ERROR, 0, "answer larger than %d bytes",
			    SYNC_MAX_BODY);
		return NULL;
	}
	if (code != CURLE_OK) {
		g_set_error(error, SYNC_ERROR, 0, "fetching %s: %s", url,
			    f->errbuf[0] ? f->errbuf : curl_easy_strerror(code));
		return NULL;
	}
	if (!g_str_has_prefix(url, "file://")) {
		curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200) {
			g_set_error(error, SYNC_ERROR, 0, "fetching %s: HTTP "
				    "status %ld", url, status);
			return NULL;
		}
	}
	{
		struct api_data *d = api_parse((const char *)f->body->data,
					       f->body->len, error);
		if (d == NULL)
			g_prefix_error(error, "%s: ", url);
		return d;
	}
}

static void
fetch_clear(struct fetch *f)
{
	if (f->easy != NULL)
		curl_easy_cleanup(f->easy);
	curl_slist_free_all(f->headers);
	if (f->body != NULL)
		g_byte_array_unref(f->body);
}

static void
store_result(sqlite3 *db, struct sync_result *r, struct api_data *d,
	     gint64 started)
{
	GError *err = NULL;

	if (d != NULL && sync_store(db, r->club, d, &err) == 0) {
		r->ok = TRUE;
		r->lists = d->lists->len;
		r->members = api_data_member_count(d);
		r->whitelisted = d->whitelist->len;
		r->dropped = d->dropped;
		r->warnings = g_ptr_array_ref(d->warnings);
	} else if (err != NULL) {
		r->error = g_strdup(err->message);
		g_clear_error(&err);
	}
	if (sync_record(db, r, started, &err) < 0) {
		/* the data is stored; only the history line is missing */
		g_warning("%s: %s", r->club->slug, err->message);
		g_clear_error(&err);
	}
}

static void
perform_all(CURLM *multi)
{
	int running = 1;

	while (running > 0) {
		long wait = -1;

		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		if (running == 0)
			break;
		/* curl's own deadline: file:// transfers have no socket to
		 * wake us, only a timeout of 0 */
		curl_multi_timeout(multi, &wait);
		if (wait != 0)
			curl_multi_poll(multi, NULL, 0,
					wait < 0 || wait > 1000 ? 1000 : (int)wait,
					NULL);
	}
}

/* One result per club of CFG (or only ONLY_SLUG), in config order. */
static GPtrArray *
new_results(const struct config *cfg, const char *only_slug)
{
	GPtrArray *results = g_ptr_array_new_with_free_func(result_free);

	for (guint i = 0; i < cfg->clubs->len; i++) {
		const struct club_config *c = g_ptr_array_index(cfg->clubs, i);
		struct sync_result *r;

		if (only_slug != NULL && strcmp(only_slug, c->slug) != 0)
			continue;
		r = g_new0(struct sync_result, 1);
		r->club = c;
		g_ptr_array_add(results, r);
	}
	return results;
}

/* Set up every fetch and add it to MULTI; a club that cannot even be
 * fetched (no key) is recorded as failed at once. */
static void
start_all(CURLM *multi, GArray *fetches, GPtrArray *results, sqlite3 *db,
	  const struct config *cfg, gint64 started)
{
	g_array_set_size(fetches, results->len);
	for (guint i = 0; i < results->len; i++) {
		struct fetch *f = &g_array_index(fetches, struct fetch, i);
		GError *err = NULL;

		f->result = g_ptr_array_index(results, i);
		if (fetch_setup(f, cfg, &err) < 0) {
			f->result->error = g_strdup(err->message);
			g_error_free(err);
			store_result(db, f->result, NULL, started);
			f->done = TRUE;
			continue;
		}
		curl_multi_add_handle(multi, f->easy);
	}
}

/* Parse and store each finished transfer; anything left unfinished is a
 * failure. */
static void
collect_all(CURLM *multi, GArray *fetches, sqlite3 *db, gint64 started)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		struct fetch *f = NULL;
		struct api_data *d;
		GError *err = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&f);
		d = fetch_finish(f, m->data.result, &err);
		if (d == NULL) {
			f->result->error = g_strdup(err->message);
			g_error_free(err);
		}
		store_result(db, f->result, d, started);
		f->done = TRUE;
		api_data_free(&d);
		curl_multi_remove_handle(multi, f->easy);
	}
	for (guint i = 0; i < fetches->len; i++) {
		struct fetch *f = &g_array_index(fetches, struct fetch, i);

		if (!f->done) {
			f->result->error = g_strdup("the transfer did not "
						    "complete");
			curl_multi_remove_handle(multi, f->easy);
			store_result(db, f->result, NULL, started);
		}
		fetch_clear(f);
	}
}

GPtrArray *
sync_run(sqlite3 *db, const struct config *cfg, const char *only_slug,
	 GError **error)
{
	GPtrArray *results;
	GArray *fetches;
	gint64 started = g_get_real_time() / G_USEC_PER_SEC;
	CURLM *multi;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (multi = curl_multi_init()) == NULL) {
		g_set_error(error, SYNC_ERROR, 0, "cannot initialise libcurl");
		return NULL;
	}
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 8L);
	results = new_results(cfg, only_slug);
	fetches = g_array_new(FALSE, TRUE, sizeof(struct fetch));
	start_all(multi, fetches, results, db, cfg, started);
	perform_all(multi);
	/* the array no longer grows: CURLOPT_PRIVATE pointers stay valid */
	collect_all(multi, fetches, db, started);
	curl_multi_cleanup(multi);
	g_array_unref(fetches);
	return results;
}
