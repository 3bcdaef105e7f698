/* fuzz-check.c - the header-policy oracle (DESIGN.md "Header policy"):
 * the post goes through what soarlist-deliver does to it (the footer, the
 * header rewriting, the serialization sendmail is given) and what it
 * would send is parsed back and checked against the input.
 */
#include "fuzz-check.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "soarlist/address.h"
#include "soarlist/footer.h"
#include "soarlist/header-check.h"
#include "soarlist/maillog.h"
#include "soarlist/message.h"
#include "soarlist/rewrite.h"

/* the headers the policy itself may add */
static const char *const ours[] = {
	"From",
	"Reply-To",
	"Cc",
	"Subject",
	"List-Id",
	"List-Post",
	"List-Help",
	"List-Owner",
	"List-Unsubscribe",
	"Precedence",
	REWRITE_LOOP_HEADER,
	"X-Auto-Response-Suppress",
	/* the footer's MIME headers (footer.h) */
	"MIME-Version",
	"Content-Type",
	"Content-Transfer-Encoding",
	NULL,
};

static GHashTable *
names_of(GMimeHeaderList *headers)
{
	GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      NULL);

	for (int i = 0; i < g_mime_header_list_get_count(headers); i++)
		g_hash_table_add(
			t, g_ascii_strdown(
				   g_mime_header_get_name(
					   g_mime_header_list_get_header_at(
						   headers, i)),
				   -1));
	for (int i = 0; ours[i] != NULL; i++)
		g_hash_table_add(t, g_ascii_strdown(ours[i], -1));
	return t;
}

/* The headers soarlist itself would find in BLOCK (LEN bytes) followed
 * by a body: message_parse(), Postfix's rule for the end of the header
 * section, GMime for the fields. NULL if it does not parse. */
static GMimeHeaderList *
reparse(const char *block, size_t len)
{
	struct message msg;
	GMimeHeaderList *out = NULL;
	int fd = memfd_create("fuzz-back", 0);

	if (fd < 0 || write(fd, block, len) != (ssize_t)len ||
	    write(fd, "\nbody\n", 6) != 6)
		abort();
	if (message_parse(fd, (off_t)len + 6, &msg, NULL) == 0) {
		out = g_object_ref(msg.headers);
		message_clear(&msg);
	}
	close(fd);
	return out;
}

/* Every mailbox of every header NAME is a valid member address, if the
 * policy wrote it: its raw value is none of BEFORE, the input's. */
static gboolean
written_addresses_ok(GMimeHeaderList *headers, const char *name,
		     GHashTable *before)
{
	gboolean ok = TRUE;

	for (int k = 0; ok && k < g_mime_header_list_get_count(headers); k++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, k);
		InternetAddressList *l;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) != 0 ||
		    g_hash_table_contains(before,
					  g_mime_header_get_raw_value(h)))
			continue;
		l = internet_address_list_parse(NULL,
						g_mime_header_get_raw_value(h));
		for (int i = 0; l && i < internet_address_list_length(l); i++) {
			InternetAddress *ia = internet_address_list_get_address(
				l, i);
			ok = ok && INTERNET_ADDRESS_IS_MAILBOX(ia) &&
			     address_is_valid(
				     internet_address_mailbox_get_idn_addr(
					     INTERNET_ADDRESS_MAILBOX(ia)));
		}
		if (l != NULL)
			g_object_unref(l);
	}
	return ok;
}

/* The raw values of every header NAME of HEADERS, a set. */
static GHashTable *
raws_of(GMimeHeaderList *headers, const char *name)
{
	GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      NULL);

	for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) == 0)
			g_hash_table_add(
				t, g_strdup(g_mime_header_get_raw_value(h)));
	}
	return t;
}

/* The checks on HEADERS after the policy; JUSTIFIED: allowed names. */
static const char *
judge(GMimeHeaderList *headers, GHashTable *justified, GHashTable *cc0,
      GHashTable *rt0)
{
	size_t len;
	char *block = header_block_serialize(headers, &len);
	GMimeHeaderList *back = NULL;
	const char *why = NULL;

	if (header_block_check(block, len, NULL) < 0)
		why = "a line is neither a header field nor a continuation";
	else if ((back = reparse(block, len)) == NULL)
		why = "the header block does not parse back";
	else if (g_mime_header_list_get_count(back) !=
		 g_mime_header_list_get_count(headers))
		why = "parsed back, the header count differs";
	for (int i = 0; why == NULL && i < g_mime_header_list_get_count(back);
	     i++) {
		char *n = g_ascii_strdown(
			g_mime_header_get_name(
				g_mime_header_list_get_header_at(back, i)),
			-1);
		if (!g_hash_table_contains(justified, n))
			why = "a header the input did not justify";
		g_free(n);
	}
	if (why == NULL && (!written_addresses_ok(headers, "Cc", cc0) ||
			    !written_addresses_ok(headers, "Reply-To", rt0)))
		why = "an address written into Cc or Reply-To is not valid";
	if (back != NULL)
		g_object_unref(back);
	g_free(block);
	return why;
}

/* What message_write_head() writes for MSG after the header block
 * sendmail_send() checks, parsed back whole: every header the policy left
 * is still a header (none was pushed into the body), and nothing after
 * them became one. */
static const char *
judge_output(const struct message *msg)
{
	size_t len;
	g_autofree char *head = header_block_serialize(msg->headers, &len);
	int fd = memfd_create("fuzz-out", MFD_CLOEXEC);
	struct message back;
	const char *why = NULL;
	off_t size;

	if (fd < 0 || message_write_head(msg, head, len, fd) < 0)
		abort(); /* a memfd: the harness is broken */
	size = lseek(fd, 0, SEEK_CUR);
	if (message_parse(fd, size, &back, NULL) < 0) {
		why = "the message written does not parse back";
	} else {
		if (g_mime_header_list_get_count(back.headers) !=
		    g_mime_header_list_get_count(msg->headers))
			why = "in the message written, the header count "
			      "differs";
		message_clear(&back);
	}
	close(fd);
	return why;
}

/* the footers the variants add (footer.h): none, plain ASCII with the
 * placeholders, and non-ASCII (the text/plain charset conversion) */
static char *footers[] = {
	NULL,
	"-- \nYou are on {list_name} ({list_address}) of {club_name}.\n",
	"-- \nListe {list_name} \xc3\xa0 {club_name} \xe2\x80\x94 "
	"d\xc3\xa9sabonnement: {list_address}\n",
};

static const char *
check_parsed(struct message *msg, unsigned variant)
{
	static char *domains[] = { "ssc.example.org", NULL };
	static struct club_config club = { .slug = "ssc",
					   .name = "Club",
					   .domains = domains };
	struct list_ref ref = {
		.id = 1,
		.club_id = 1,
		.club = &club,
		.name = "members",
		.domain = "ssc.example.org",
		.address = "members@ssc.example.org",
		.display = "Members",
	};
	struct rewrite_input in = { .list = &ref,
				    .envelope_sender = "a@b.example" };
	GHashTable *justified = names_of(msg->headers);
	GHashTable *cc0 = raws_of(msg->headers, "Cc");
	GHashTable *rt0 = raws_of(msg->headers, "Reply-To");
	const char *why;
	GError *err = NULL;

	g_free(message_author(msg));
	g_free(message_id(msg));
	(void)rewrite_has_loop_marker(msg->headers, &ref);
	(void)rewrite_is_auto_submitted(msg->headers);
	ref.settings.reply_to = (enum reply_to_mode)(variant % 3);
	ref.settings.from_rewrite = variant / 3 == 0;
	ref.settings.subject_prefix = variant % 2 ? "[SSC]" : NULL;
	ref.settings.footer = footers[(variant / 2) % G_N_ELEMENTS(footers)];
	if (variant + 1 == FUZZ_VARIANTS) {
		rewrite_clean_headers(msg->headers); /* owner forward */
	} else {
		/* as deliver-post.c: the footer, then the headers; it fails
		 * on I/O alone, which a memfd and a scratch dir never give */
		if (footer_apply(msg, &ref, fuzz_scratch_dir(), &err) < 0) {
			g_printerr("footer_apply: %s\n", err->message);
			abort();
		}
		rewrite_headers(msg->headers, &in);
	}
	why = judge(msg->headers, justified, cc0, rt0);
	if (why == NULL)
		why = judge_output(msg);
	g_hash_table_unref(justified);
	g_hash_table_unref(cc0);
	g_hash_table_unref(rt0);
	return why;
}

int
fuzz_message_check(const uint8_t *data, size_t size, unsigned variant,
		   const char **why_r)
{
	static gboolean init;
	struct message msg;
	const char *why = NULL;
	int fd;

	if (!init) {
		g_mime_init();
		maillog_open("soarlist-fuzz", "/dev/null");
		init = TRUE;
	}
	fd = memfd_create("fuzz", 0);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	if (message_parse(fd, (off_t)size, &msg, NULL) == 0) {
		why = check_parsed(&msg, variant % FUZZ_VARIANTS);
		message_clear(&msg);
	}
	close(fd);
	*why_r = why;
	return why ? -1 : 0;
}
