/* fuzz-regress.c - the fuzz findings as regression tests in every build,
 * without clang: each file under the directories given is fed to the
 * same oracle as fuzz-message (fuzz-check.c) under every list setting
 * (after --auth: as fuzz-auth, fuzz-auth-check.c);
 * then header_block_check() and sendmail_send() are shown a table of
 * blocks that must never leave. TAP on stdout.
 */
#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>

#include "fuzz-auth-check.h"
#include "fuzz-check.h"
#include "soarlist/header-check.h"
#include "soarlist/sendmail.h"

static int test_n, failed;

static void
tap(gboolean ok, const char *what, const char *why)
{
	printf("%s %d - %s%s%s\n", ok ? "ok" : "not ok", ++test_n, what,
	       why ? ": " : "", why ? why : "");
	if (!ok)
		failed++;
}

/* the oracle the files of a directory go through: fuzz-message's, or
 * fuzz-auth's for the directories after --auth */
static gboolean auth_mode;

static int
check_one(const char *data, gsize len, const char **why)
{
	gboolean ok = TRUE;

	if (auth_mode)
		return fuzz_auth_check((const uint8_t *)data, len, why);
	for (unsigned v = 0; v < FUZZ_VARIANTS && ok; v++)
		ok = fuzz_message_check((const uint8_t *)data, len, v, why) ==
		     0;
	return ok ? 0 : -1;
}

static void
run_file(const char *path)
{
	char *data, *name;
	gsize len;
	const char *why = NULL;
	gboolean ok = TRUE;

	if (!g_file_get_contents(path, &data, &len, NULL)) {
		tap(FALSE, path, "cannot read");
		return;
	}
	ok = check_one(data, len, &why) == 0;
	name = g_path_get_basename(path);
	tap(ok, name, why);
	g_free(name);
	g_free(data);
}

static void
run_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	const char *n;

	if (d == NULL) {
		tap(FALSE, dir, "cannot open the directory");
		return;
	}
	while ((n = g_dir_read_name(d)) != NULL)
		if (n[0] != '.' && g_strcmp0(n, "meson.build") != 0)
			g_ptr_array_add(files, g_build_filename(dir, n, NULL));
	g_dir_close(d);
	g_ptr_array_sort(files, (GCompareFunc)g_strcmp0);
	for (guint i = 0; i < files->len; i++)
		run_file(g_ptr_array_index(files, i));
	g_ptr_array_unref(files);
}

/* blocks that must never be sent, and one that must */
static const struct {
	const char *block;
	size_t len;
	gboolean good;
} blocks[] = {
#define B(s, good) \
	{ \
		s, sizeof(s) - 1, good \
	}
	B("From: a@b.example\nSubject: x\n", TRUE),
	B("From: a@b.example\r\nSubject: x\r\n  folded\r\n", TRUE),
	B("Cc: Mallory <m@[a\nX-Injected:yes\nb]>\n", FALSE),
	B("Subject: x\n\nList-Id: <l.example>\n", FALSE),
	B("Subject: x\n \nList-Id: <l.example>\n", FALSE),
	B("Subject: a\rX-Injected: yes\n", FALSE),
	B("Subject: a\0X-Injected: yes\n", FALSE),
	B(" leading: continuation\n", FALSE),
	B(": no name\n", FALSE),
	B("Bad Name: x\n", FALSE),
	B("Subject: no line end", FALSE),
#undef B
};

static void
run_blocks(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(blocks); i++) {
		GError *err = NULL;
		int rc = header_block_check(blocks[i].block, blocks[i].len,
					    &err);
		char *what = g_strdup_printf("header_block_check row %zu", i);

		tap((rc == 0) == blocks[i].good, what,
		    err ? err->message : NULL);
		g_clear_error(&err);
		g_free(what);
	}
}

/* sendmail_send() refuses the finding of issue 9 before it runs anything:
 * the error is the header check's, not "cannot run". */
static void
run_sendmail_refuses(void)
{
	struct message msg = { .fd = -1, .body_fd = -1 };
	GPtrArray *rcpts = g_ptr_array_new();
	GError *err = NULL;
	int rc;

	msg.headers = g_mime_header_list_new(NULL);
	g_mime_header_list_append(msg.headers, "From", "a@b.example", NULL);
	g_mime_header_list_append(msg.headers, "Cc", "", NULL);
	g_mime_header_set_raw_value(
		g_mime_header_list_get_header(msg.headers, "Cc"),
		" Mallory <m@[a\nX-Injected:yes\nb]>\n");
	g_ptr_array_add(rcpts, "r@b.example");
	rc = sendmail_send("/nonexistent/sendmail", "s@b.example", FALSE, rcpts,
			   &msg, &err);
	tap(rc < 0 && err != NULL && err->domain == HEADER_CHECK_ERROR &&
		    strstr(err->message,
			   "neither a header field nor a continuation"),
	    "sendmail_send refuses a block with a non-header line",
	    err ? err->message : "sent");
	g_clear_error(&err);
	g_object_unref(msg.headers);
	g_ptr_array_unref(rcpts);
}

int
main(int argc, char **argv)
{
	g_mime_init();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--auth") == 0)
			auth_mode = TRUE;
		else
			run_dir(argv[i]);
	}
	run_blocks();
	run_sendmail_refuses();
	printf("1..%d\n", test_n);
	return failed ? 1 : 0;
}
