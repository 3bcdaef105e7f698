/* test-footer.c - footer_apply() on every MIME shape, the result parsed back
 * with GMime: the footer appears exactly once, as text, where it belongs,
 * and what was there before is intact. */
#include <gmime/gmime.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "soarlist/footer.h"
#include "soarlist/message.h"
#include "unit.h"

#define FOOTER "Sent to {list_name} ({list_address}) of {club_name}"
#define FILLED "Sent to members (members@ssc.example) of Skyline"

static char *domains[] = { "ssc.example", NULL };
static struct club_config club = { .slug = "ssc",
				   .name = "Skyline",
				   .domains = domains };

static struct list_ref
list_ref(void)
{
	struct list_ref r = {
		.id = 1,
		.club_id = 1,
		.club = &club,
		.name = "members",
		.domain = "ssc.example",
		.address = "members@ssc.example",
		.display = "Members",
	};
	r.settings.footer = FOOTER;
	r.settings.from_rewrite = TRUE;
	return r;
}

/* Apply the footer to TEXT and parse what would be sent with GMime. */
static GMimeMessage *
round_trip(const char *text)
{
	struct list_ref ref = list_ref();
	struct message msg;
	GMimeStream *out = g_mime_stream_mem_new();
	GMimeParser *parser;
	GMimeMessage *m;
	GError *err = NULL;
	int fd = memfd_create("in", 0), ofd = memfd_create("out", 0);
	GByteArray *bytes;

	g_assert_cmpint(write(fd, text, strlen(text)), ==,
			(ssize_t)strlen(text));
	g_assert_cmpint(message_parse(fd, (off_t)strlen(text), &msg, &err), ==,
			0);
	g_assert_cmpint(footer_apply(&msg, &ref, NULL, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(message_write(&msg, ofd), ==, 0);
	message_clear(&msg);
	close(fd);
	bytes = g_byte_array_new();
	{
		char buf[4096];
		ssize_t n;
		off_t off = 0;
		while ((n = pread(ofd, buf, sizeof(buf), off)) > 0) {
			g_byte_array_append(bytes, (guint8 *)buf, (guint)n);
			off += n;
		}
	}
	close(ofd);
	g_mime_stream_write(out, (const char *)bytes->data, bytes->len);
	g_byte_array_unref(bytes);
	g_mime_stream_seek(out, 0, GMIME_STREAM_SEEK_SET);
	parser = g_mime_parser_new_with_stream(out);
	m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(out);
	g_assert_nonnull(m);
	return m;
}

struct walk {
	int footers;      /* text parts holding the footer */
	GString *texts;   /* every text part, decoded */
	GPtrArray *types; /* every part's type, in order */
};

static void
visit(GMimeObject *parent, GMimeObject *part, gpointer user)
{
	struct walk *w = user;
	GMimeContentType *ct = g_mime_object_get_content_type(part);

	(void)parent;
	g_ptr_array_add(w->types, g_mime_content_type_get_mime_type(ct));
	if (GMIME_IS_TEXT_PART(part)) {
		char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
		if (t != NULL && strstr(t, FILLED) != NULL)
			w->footers++;
		g_string_append(w->texts, t ? t : "");
		g_free(t);
	}
}

static void
walk(GMimeMessage *m, struct walk *w)
{
	w->footers = 0;
	w->texts = g_string_new(NULL);
	w->types = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(w->types,
			g_mime_content_type_get_mime_type(
				g_mime_object_get_content_type(
					g_mime_message_get_mime_part(m))));
	if (GMIME_IS_MULTIPART(g_mime_message_get_mime_part(m)))
		g_mime_message_foreach(m, visit, w);
	else
		visit(NULL, g_mime_message_get_mime_part(m), w);
}

static void
walk_clear(struct walk *w)
{
	g_string_free(w->texts, TRUE);
	g_ptr_array_unref(w->types);
}

static const struct {
	const char *name;
	const char *text;
	const char *top_type; /* after the footer */
	const char *kept;     /* decoded text that must survive */
} cases[] = {
	{ "plain 7bit", "From: a@x.org\nSubject: s\n\nhello list\n",
	  "text/plain", "hello list" },
	{ "quoted-printable",
	  "From: a@x.org\nMIME-Version: 1.0\nContent-Type: text/plain; "
	  "charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
	  "Gr=FC=DFe aus dem Segelflug=\nverein\n",
	  "text/plain", "Grüße aus dem Segelflugverein" },
	{ "base64",
	  "From: a@x.org\nMIME-Version: 1.0\nContent-Type: text/plain; "
	  "charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
	  "aGVsbG8gd29ybGQK\n",
	  "text/plain", "hello world" },
	{ "multipart/mixed",
	  "From: a@x.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; "
	  "boundary=B\n\n--B\nContent-Type: text/plain\n\nbody text\n--B\n"
	  "Content-Type: application/octet-stream\nContent-Transfer-Encoding: "
	  "base64\n\nAAEC\n--B--\n",
	  "multipart/mixed", "body text" },
	{ "multipart/alternative",
	  "From: a@x.org\nMIME-Version: 1.0\nContent-Type: multipart/"
	  "alternative; boundary=A\n\n--A\nContent-Type: text/plain\n\n"
	  "plain version\n--A\nContent-Type: text/html\n\n<p>html version</p>\n"
	  "--A--\n",
	  "multipart/mixed", "plain version" },
	{ "multipart/signed",
	  "From: a@x.org\nMIME-Version: 1.0\nContent-Type: multipart/signed; "
	  "protocol=\"application/pgp-signature\"; micalg=pgp-sha256; "
	  "boundary=S\n\n--S\nContent-Type: text/plain\n\nsigned text\n--S\n"
	  "Content-Type: application/pgp-signature\n\nSIG\n--S--\n",
	  "multipart/mixed", "signed text" },
	{ "no body", "From: a@x.org\nSubject: s\n\n", "text/plain", "" },
};

static void
test_shapes(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		GMimeMessage *m = round_trip(cases[i].text);
		struct walk w;

		walk(m, &w);
		check_str(g_ptr_array_index(w.types, 0), cases[i].top_type,
			  "%s: top-level type", cases[i].name);
		check_int(w.footers, 1, "%s: text parts with the footer",
			  cases[i].name);
		check_contains(w.texts->str, cases[i].kept, "%s: original text",
			       cases[i].name);
		check_lacks(w.texts->str, "{list_name}", "%s: placeholders",
			    cases[i].name);
		walk_clear(&w);
		g_object_unref(m);
	}
}

/* the wrapped parts keep their structure: alternative and signed stay
 * whole inside the new multipart/mixed */
static void
test_wrapped_parts_intact(void)
{
	for (gsize i = 4; i <= 5; i++) {
		GMimeMessage *m = round_trip(cases[i].text);
		GMimeObject *top = g_mime_message_get_mime_part(m);
		GMimeObject *first;
		g_autofree char *type = NULL; /* transfer full */

		g_assert_true(GMIME_IS_MULTIPART(top));
		check_int(g_mime_multipart_get_count(GMIME_MULTIPART(top)), 2,
			  "%s: parts of the new multipart/mixed",
			  cases[i].name);
		first = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
		type = g_mime_content_type_get_mime_type(
			g_mime_object_get_content_type(first));
		check_str(type,
			  i == 4 ? "multipart/alternative" : "multipart/signed",
			  "%s: first part", cases[i].name);
		g_object_unref(m);
	}
}

static void
test_no_footer_configured(void)
{
	struct list_ref ref = list_ref();
	struct message msg;
	const char *text = "From: a@x.org\n\nbody\n";
	int fd = memfd_create("in", 0);

	ref.settings.footer = NULL;
	g_assert_cmpint(write(fd, text, strlen(text)), ==,
			(ssize_t)strlen(text));
	g_assert_cmpint(message_parse(fd, (off_t)strlen(text), &msg, NULL), ==,
			0);
	g_assert_cmpint(footer_apply(&msg, &ref, NULL, NULL), ==, 0);
	check_int(msg.body_fd == fd, 1, "body still read from the spool");
	message_clear(&msg);
	close(fd);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_mime_init();
	g_test_add_func("/footer/shapes", test_shapes);
	g_test_add_func("/footer/wrapped-parts-intact",
			test_wrapped_parts_intact);
	g_test_add_func("/footer/none", test_no_footer_configured);
	return g_test_run();
}
