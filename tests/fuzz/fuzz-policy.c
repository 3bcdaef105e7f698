/* fuzz-policy.c - libFuzzer target: a connection to the Postfix policy
 * service (SMTPD_POLICY_README) as a client can write it, served by
 * policy_server_run() against the scratch world (fuzz-util.h): the
 * request parser and the answers with a real database, opened per
 * connection as the service does. A database per input would cost more
 * than the rest, so the world is made once per process; answering never
 * writes to it. Every answer must be "action=WORD ...", one line, then
 * an empty line: nothing a client sends may become a second line of an
 * answer (smtpd would read it as the answer to its next request).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "soarlist/policy-server.h"

static void
fail(const char *what, const char *value)
{
	fprintf(stderr, "policy: %s: \"%s\"\n", what, value ? value : "(null)");
	abort();
}

static const char *const actions[] = {
	"DUNNO",
	"550 ",
	"552 ",
	"DEFER_IF_PERMIT ",
};

/* OUT (LEN bytes): answers only, each well formed. */
static void
check_answers(const char *out, size_t len)
{
	const char *p = out, *end = out + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		g_autofree char *line = NULL;
		gboolean known = FALSE;

		if (nl == NULL || nl + 1 >= end || nl[1] != '\n')
			fail("an answer not ended by an empty line", p);
		line = g_strndup(p, (size_t)(nl - p));
		if (strlen(line) != (size_t)(nl - p))
			fail("a NUL byte in an answer", line);
		if (!g_str_has_prefix(line, "action="))
			fail("not an action", line);
		for (size_t i = 0; i < G_N_ELEMENTS(actions); i++)
			known = known ||
				g_str_has_prefix(line + 7, actions[i]) ||
				strcmp(line + 7, actions[i]) == 0;
		if (!known)
			fail("an unknown action", line);
		for (const unsigned char *c = (const unsigned char *)line; *c;
		     c++)
			if (*c < 0x20 || *c == 0x7f)
				fail("a control character in an answer", line);
		p = nl + 2;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_world *w = fuzz_world();
	int in = fuzz_memfd(data, size);
	int out = memfd_create("fuzz-policy-out", MFD_CLOEXEC);
	g_autofree char *answers = NULL;
	off_t len;

	if (out < 0 || lseek(in, 0, SEEK_SET) != 0)
		abort();
	(void)policy_server_run(w->cfg, in, out);
	len = lseek(out, 0, SEEK_END);
	answers = g_malloc((size_t)len + 1);
	if (len < 0 || pread(out, answers, (size_t)len, 0) != len)
		abort();
	check_answers(answers, (size_t)len);
	close(in);
	close(out);
	return 0;
}
