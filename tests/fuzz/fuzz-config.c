/* fuzz-config.c - libFuzzer target: the configuration file (config_load)
 * as an administrator's typo or a hostile edit can make it. The input is
 * written into one memfd per process and read through /proc/self/fd, so
 * nothing is written to disk. A refusal is one printable line naming the
 * file (config.h); what is accepted is what soarlist.conf(5) promises:
 * every club has a slug, a name and at least one domain, in lowercase,
 * that finds it again; warnings are single printable lines; every list's
 * settings resolve.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "soarlist/config.h"
#include "soarlist/printable.h"

static void
fail(const char *what, const char *value)
{
	fprintf(stderr, "config: %s: \"%s\"\n", what, value ? value : "(null)");
	abort();
}

static void
check_line(const char *what, const char *s)
{
	if (s == NULL || !printable_is_clean(s))
		fail(what, s);
}

static void
check(const struct config *cfg)
{
	GHashTableIter it;
	gpointer key, value;

	for (guint i = 0; i < cfg->clubs->len; i++) {
		const struct club_config *c = g_ptr_array_index(cfg->clubs, i);

		if (c->slug == NULL || *c->slug == '\0' || c->name == NULL ||
		    c->domains == NULL || c->domains[0] == NULL)
			fail("a club without slug, name or domain", c->slug);
		if (config_club_by_slug(cfg, c->slug) == NULL)
			fail("a club not found by its slug", c->slug);
		for (char **d = c->domains; *d != NULL; d++) {
			g_autofree char *low = g_ascii_strdown(*d, -1);
			if (strcmp(low, *d) != 0)
				fail("a domain not in lowercase", *d);
			if (config_club_by_domain(cfg, *d) == NULL)
				fail("a domain that finds no club", *d);
		}
		(void)require_auth_name(c->require_auth);
		(void)unauth_action_name(c->unauthenticated_action);
		(void)verp_mode_name(c->verp);
	}
	for (guint i = 0; i < cfg->warnings->len; i++)
		check_line("warning", g_ptr_array_index(cfg->warnings, i));
	g_hash_table_iter_init(&it, cfg->lists);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		g_auto(GStrv) parts = g_strsplit(key, "/", 2);
		struct list_settings s;

		if (parts[0] == NULL || parts[1] == NULL)
			fail("a list not named SLUG/LIST", key);
		config_list_settings(cfg, parts[0], parts[1], &s);
		(void)posting_policy_name(s.posting);
		(void)nonmember_action_name(s.nonmember_action);
		(void)require_auth_name(s.require_auth);
		(void)unauth_action_name(s.unauthenticated_action);
		(void)verp_mode_name(s.verp);
		if (s.require_auth == REQUIRE_AUTH_INHERIT ||
		    s.unauthenticated_action == UNAUTH_INHERIT ||
		    s.verp == VERP_INHERIT)
			fail("a list setting left to inherit", key);
	}
	(void)config_is_app_client(cfg, "192.0.2.10");
	(void)config_is_app_client(cfg, "2001:db8::10");
	(void)config_is_app_client(cfg, "not an address");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	g_autoptr(Config) cfg = NULL;
	GError *err = NULL;

	if (fd < 0) {
		fd = memfd_create("fuzz-config", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	cfg = config_load(path, &err);
	if (cfg == NULL) {
		if (err == NULL)
			fail("refused without an error", "");
		check_line("error", err->message);
		if (!g_str_has_prefix(err->message, path))
			fail("an error that does not name the file",
			     err->message);
		g_error_free(err);
		return 0;
	}
	check(cfg);
	return 0;
}
