/* fuzz-dsn.c - libFuzzer target: a bounce as a stranger can write it,
 * read as soarlist-deliver reads a message to LIST-bounces: dsn_parse()
 * without and with the address a VERP bounce names, then dsn_returned().
 * Nothing may crash, and what it returns is what dsn.h promises: one
 * printable line per field, a status C.S.D, an action and a proof in
 * lowercase. The Message-ID and proof it finds go to bounce_proof_check()
 * against the scratch world's key (bounce-proof.h), as bounce.c does: a
 * token nobody made for this list never proves anything.
 */
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "soarlist/bounce-proof.h"
#include "soarlist/catalog.h"
#include "soarlist/dsn.h"
#include "soarlist/maillog.h"
#include "soarlist/message.h"

static void
fail(const char *what, const char *value)
{
	fprintf(stderr, "dsn: %s: \"%s\"\n", what, value ? value : "(null)");
	abort();
}

/* one line of printable UTF-8, no control characters */
static void
check_line(const char *what, const char *s, gboolean may_be_null)
{
	if (s == NULL) {
		if (!may_be_null)
			fail(what, s);
		return;
	}
	if (!g_utf8_validate(s, -1, NULL))
		fail(what, s);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			fail(what, s);
}

static void
check_status(const char *s)
{
	/* class.subject.detail, digits only */
	const char *p = s;
	int dots = 0;

	check_line("status", s, FALSE);
	if (!g_ascii_isdigit(*p))
		fail("status", s);
	for (; *p; p++) {
		if (*p == '.') {
			dots++;
			if (!g_ascii_isdigit(p[1]))
				fail("status", s);
		} else if (!g_ascii_isdigit(*p)) {
			fail("status", s);
		}
	}
	if (dots != 2)
		fail("status", s);
}

static void
check_lower(const char *what, const char *s)
{
	check_line(what, s, TRUE);
	for (const char *p = s; p && *p; p++)
		if (g_ascii_isupper(*p))
			fail(what, s);
}

static void
check_dsn(const struct dsn *d)
{
	for (; d != NULL; d = d->next) {
		check_line("recipient", d->recipient, FALSE);
		if (*d->recipient == '\0' || strchr(d->recipient, ' '))
			fail("recipient", d->recipient);
		check_lower("action", d->action);
		check_status(d->status);
		check_line("diagnostic", d->diagnostic, TRUE);
		if (d->diagnostic != NULL && strlen(d->diagnostic) > 200)
			fail("diagnostic longer than 200 bytes", d->diagnostic);
		check_line("message_id", d->message_id, TRUE);
		check_lower("proof", d->proof);
	}
}

/* What the DSN says it returns, checked as bounce.c checks it: a token
 * the fuzzer cannot have made never proves the post. */
static void
check_proof(const char *message_id, const char *proof)
{
	static struct list_ref ref;
	const struct fuzz_world *w = fuzz_world();
	GError *err = NULL;
	int rc;

	if (ref.id == 0 && catalog_resolve(w->db, w->cfg, "members",
					   FUZZ_DOMAIN, &ref, &err) != 1)
		fail("catalog_resolve", err ? err->message : "no list");
	rc = bounce_proof_check(w->db, &ref, message_id, proof,
				1764547200 /* a fixed now */, &err);
	if (rc < 0)
		fail("bounce_proof_check", err->message);
	if (rc == 1)
		fail("a proof the fuzzer made was accepted", proof);
}

/* a candidate test as soarlist-deliver's: is it one of the list's
 * members? Here: any address of example.org. */
static int
candidate(const char *address, gpointer data, GError **error)
{
	(void)data;
	(void)error;
	return g_str_has_suffix(address, "@example.org");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gboolean ready;
	g_auto(Message) msg = { 0 };
	int fd;

	if (!ready) {
		g_mime_init();
		maillog_open("soarlist-fuzz", "/dev/null");
		ready = TRUE;
	}
	fd = fuzz_memfd(data, size);
	if (message_parse(fd, (off_t)size, &msg, NULL) == 0) {
		static const char *const wants[] = { NULL,
						     "alice@example.org" };
		g_autofree char *id = NULL, *proof = NULL;

		for (size_t i = 0; i < G_N_ELEMENTS(wants); i++) {
			g_auto(Dsn) d = { 0 };
			GError *err = NULL;
			int rc = dsn_parse(&msg, wants[i],
					   i == 0 ? candidate : NULL, NULL, &d,
					   &err);

			/* on a memfd, no I/O error: -1 is a finding */
			if (rc < 0)
				fail("dsn_parse failed", err->message);
			if (rc == 1) {
				check_dsn(&d);
				check_proof(d.message_id, d.proof);
				if (wants[i] != NULL &&
				    strcmp(d.recipient, wants[i]) != 0)
					fail("not the VERP recipient",
					     d.recipient);
			}
		}
		if (dsn_returned(&msg, &id, &proof, NULL) < 0)
			fail("dsn_returned failed", "");
		check_line("returned message_id", id, TRUE);
		check_lower("returned proof", proof);
		check_proof(id, proof);
	}
	close(fd);
	return 0;
}
