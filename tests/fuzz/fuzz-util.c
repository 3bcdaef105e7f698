/* fuzz-util.c - the memfd, the scratch directory and the synced world the
 * fuzz targets share (fuzz-util.h).
 */
#include "fuzz-util.h"

#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "soarlist/api.h"
#include "soarlist/catalog.h"
#include "soarlist/db.h"
#include "soarlist/held.h"
#include "soarlist/maillog.h"
#include "soarlist/message.h"
#include "soarlist/sync.h"

gboolean fuzz_replaying;

/* A GLib critical is a library function called against its contract
 * (such as a NULL string): a finding like a crash, in every target. */
__attribute__((constructor)) static void
fatal_criticals(void)
{
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
}

int
fuzz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	return fd;
}

static char *scratch;

static void
remove_scratch(void)
{
	GDir *d = g_dir_open(scratch, 0, NULL);
	const char *n;

	while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
		g_autofree char *p = g_build_filename(scratch, n, NULL);
		g_unlink(p);
	}
	if (d != NULL)
		g_dir_close(d);
	g_rmdir(scratch);
	g_clear_pointer(&scratch, g_free);
}

const char *
fuzz_scratch_dir(void)
{
	if (scratch == NULL) {
		scratch = g_dir_make_tmp("soarlist-fuzz-XXXXXX", NULL);
		if (scratch == NULL)
			abort();
		atexit(remove_scratch);
	}
	return scratch;
}

static const char config_text[] = "[soarlist]\n"
				  "database = %s/cache.db\n"
				  "log_file = /dev/null\n"
				  "admin = admin@example.org\n"
				  "app_login = m2s\n"
				  "app_networks = 192.0.2.0/24\n"
				  "[club ssc]\n"
				  "name = Skyline Soaring Club\n"
				  "api_url = file:///dev/null\n"
				  "domains = " FUZZ_DOMAIN
				  ";skyline.example.org\n"
				  "owners = " FUZZ_OWNER "\n"
				  "[list ssc/board]\n"
				  "moderated = true\n"
				  "[list ssc/members]\n"
				  "posting = members\n"
				  "nonmember_action = hold\n"
				  "max_size = 100000\n"
				  "[list ssc/treasurer]\n"
				  "posting = anyone\n";

static const char ssc_json[] =
	"{ \"lists\": { \"members\": [\"alice@example.org\", "
	"\"Bob@Example.COM\", \"" FUZZ_OWNER "\"],"
	"  \"board\": [\"carol@example.org\", \"" FUZZ_OWNER "\"],"
	"  \"treasurer\": [\"tina@example.net\"],"
	"  \"empty\": [] },"
	"  \"whitelist\": [\"alice@example.org\", \"wendy@example.org\"],"
	"  \"bypass_lists\": [\"treasurer\"] }";

static const char held_post[] = "From: stranger@example.net\n"
				"To: board@" FUZZ_DOMAIN "\n"
				"Subject: please approve\n"
				"Message-ID: <held@example.net>\n"
				"\n"
				"Hello board.\n";

static void
need(gboolean ok, GError *err, const char *what)
{
	if (!ok) {
		g_printerr("fuzz world: %s: %s\n", what,
			   err ? err->message : "failed");
		abort();
	}
}

static void
store(struct fuzz_world *w)
{
	GError *err = NULL;
	g_autoptr(ApiData) data = api_parse(ssc_json, strlen(ssc_json), &err);
	struct sync_options opts = { .force = TRUE };
	struct sync_result r = { .club = config_club_by_slug(w->cfg, "ssc") };

	need(data != NULL, err, "api_parse");
	need(sync_store(w->db, w->cfg, data, NULL, &opts, &r, &err) == 0, err,
	     "sync_store");
	if (r.warnings != NULL)
		g_ptr_array_unref(r.warnings);
	if (r.diff != NULL)
		g_ptr_array_unref(r.diff);
}

static void
hold(struct fuzz_world *w)
{
	GError *err = NULL;
	g_auto(ListRef) ref = { 0 };
	g_auto(Message) msg = { 0 };
	struct held_info info = {
		.recipient = "board@" FUZZ_DOMAIN,
		.sender = "stranger@example.net",
		.author = "stranger@example.net",
		.subject = "please approve",
		.message_id = "held@example.net",
		.reason = "moderated list",
	};
	int fd = fuzz_memfd((const uint8_t *)held_post, sizeof(held_post) - 1);

	need(catalog_resolve(w->db, w->cfg, "board", FUZZ_DOMAIN, &ref, &err) ==
		     1,
	     err, "catalog_resolve");
	need(message_parse(fd, sizeof(held_post) - 1, &msg, &err) == 0, err,
	     "message_parse");
	need(held_store(w->db, &ref, &msg, &info, &w->token, &err) > 0, err,
	     "held_store");
	close(fd);
}

static struct fuzz_world *world;

void
fuzz_world_restore(void)
{
	store((struct fuzz_world *)fuzz_world());
}

static void
free_world(void)
{
	db_close(&world->db);
	config_free(&world->cfg);
	g_free(world->token);
	g_clear_pointer(&world, g_free);
}

const struct fuzz_world *
fuzz_world(void)
{
	GError *err = NULL;
	g_autofree char *path = NULL, *text = NULL;

	if (world != NULL)
		return world;
	g_mime_init();
	maillog_open("soarlist-fuzz", "/dev/null");
	world = g_new0(struct fuzz_world, 1);
	path = g_build_filename(fuzz_scratch_dir(), "soarlist.conf", NULL);
	text = g_strdup_printf(config_text, fuzz_scratch_dir());
	need(g_file_set_contents(path, text, -1, &err), err, "config file");
	world->cfg = config_load(path, &err);
	need(world->cfg != NULL, err, "config_load");
	world->db = db_open(world->cfg->database, DB_CREATE, 1000, &err);
	need(world->db != NULL, err, "db_open");
	store(world);
	hold(world);
	/* freed before the scratch directory goes (atexit runs backwards) */
	atexit(free_world);
	return world;
}
