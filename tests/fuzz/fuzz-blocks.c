/* fuzz-blocks.c - the header blocks the fuzzers found, as a table in
 * every build: header_block_check() and sendmail_send() are shown blocks
 * that must never leave (and ones that must). The fuzz inputs themselves
 * are replayed by each target's own test (fuzz-main.c). TAP on stdout.
 */
#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>

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
main(void)
{
	g_mime_init();
	run_blocks();
	run_sendmail_refuses();
	printf("1..%d\n", test_n);
	return failed ? 1 : 0;
}
