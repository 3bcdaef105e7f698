/* unit.h - helpers shared by the unit test programs. Every check reports
 * "WHAT: got X, want Y" with g_test_message(), marks the test failed with
 * g_test_fail() and carries on, so one run of a table shows every wrong row.
 */
#ifndef SOARLIST_TEST_UNIT_H
#define SOARLIST_TEST_UNIT_H

#include <glib.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>

/* S quoted and escaped for a message, or "NULL". Newly allocated. */
static inline char *
unit_quote(const char *s)
{
	char *e = s ? g_strescape(s, NULL) : NULL;
	char *q = s ? g_strdup_printf("\"%s\"", e) : g_strdup("NULL");

	g_free(e);
	return q;
}

/* Report a failure; takes GOT and WANT. */
static inline void
unit_fail(char *got, char *want, const char *fmt, va_list ap)
{
	char *what = g_strdup_vprintf(fmt, ap);

	g_test_message("%s: got %s, want %s", what, got, want);
	g_test_fail();
	g_free(what);
	g_free(got);
	g_free(want);
}

/* In a function taking FMT, ...: report unless COND (GOT and WANT are
 * only evaluated on failure). */
#define UNIT_CHECK(cond, got, want) \
	do { \
		va_list ap; \
		if (cond) \
			return; \
		va_start(ap, fmt); \
		unit_fail((got), (want), fmt, ap); \
		va_end(ap); \
	} while (0)

static inline void check_str(const char *got, const char *want, const char *fmt,
			     ...) G_GNUC_PRINTF(3, 4);
static inline void check_int(gint64 got, gint64 want, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);
static inline void check_contains(const char *got, const char *needle,
				  const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static inline void check_lacks(const char *got, const char *needle,
			       const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* GOT equals WANT (either may be NULL). */
static inline void
check_str(const char *got, const char *want, const char *fmt, ...)
{
	UNIT_CHECK(g_strcmp0(got, want) == 0, unit_quote(got),
		   unit_quote(want));
}

static inline void
check_int(gint64 got, gint64 want, const char *fmt, ...)
{
	UNIT_CHECK(got == want, g_strdup_printf("%" G_GINT64_FORMAT, got),
		   g_strdup_printf("%" G_GINT64_FORMAT, want));
}

/* GOT is non-NULL and contains NEEDLE. */
static inline void
check_contains(const char *got, const char *needle, const char *fmt, ...)
{
	UNIT_CHECK(got != NULL && strstr(got, needle) != NULL, unit_quote(got),
		   g_strdup_printf("a string containing \"%s\"", needle));
}

/* GOT is NULL or lacks NEEDLE. */
static inline void
check_lacks(const char *got, const char *needle, const char *fmt, ...)
{
	UNIT_CHECK(got == NULL || strstr(got, needle) == NULL, unit_quote(got),
		   g_strdup_printf("no \"%s\" in it", needle));
}

/* Write TEXT to DIR/NAME. Returns the path (newly allocated). */
static inline char *
unit_write(const char *dir, const char *name, const char *text)
{
	GError *err = NULL;
	char *path = g_build_filename(dir, name, NULL);

	g_file_set_contents(path, text, -1, &err);
	g_assert_no_error(err);
	return path;
}

/* Remove DIR (made with g_dir_make_tmp) and the files in it. */
static inline void
unit_rmtree(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		char *p = g_build_filename(dir, name, NULL);
		g_unlink(p);
		g_free(p);
	}
	if (d != NULL)
		g_dir_close(d);
	g_rmdir(dir);
}

#endif
