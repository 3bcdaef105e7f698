/* fuzz-moderation.c - libFuzzer target: a reply to a moderation notice,
 * as soarlist-deliver decides it (decide.h, decide-moderation.c): the
 * token of the address, the owner check on the From, and the command on
 * the first line of the reply's text (decoded by GMime from any MIME
 * shape). Only the decision is made, never moderate() itself: acting
 * would forget the held post and the next input would see another world.
 * The input is the reply; the address it goes to follows from its size
 * (three times in five the held post's token on its own list, else on
 * another list or an unknown token); the replay of the normal build
 * tries all three.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "soarlist/decide.h"
#include "soarlist/message.h"
#include "soarlist/printable.h"

static void
fail(const char *what, const char *value)
{
	fprintf(stderr, "moderation: %s: \"%s\"\n", what,
		value ? value : "(null)");
	abort();
}

static void
decide(const struct fuzz_world *w, const struct message *msg, unsigned variant)
{
	g_autofree char *rcpt = g_strdup_printf(
		variant == 0   ? "board-request+%s@" FUZZ_DOMAIN
		: variant == 1 ? "members-request+%s@" FUZZ_DOMAIN
			       : "board-request+0%.31s@" FUZZ_DOMAIN,
		w->token);
	struct decide_input in = {
		.cfg = w->cfg,
		.recipient = rcpt,
		.sender = "owner@example.org",
		.msg = msg,
		.size = msg->end,
		.client = CLIENT_OTHER,
	};
	g_auto(Verdict) v = { 0 };
	GError *err = NULL;
	gboolean acts;

	if (decide_address(&in, &v))
		fail("decided by the address alone", rcpt);
	if (decide_resolve(w->db, &in, &v, &err) < 0)
		fail("decide_resolve", err->message);
	acts = v.outcome == OUTCOME_MODERATE_APPROVE ||
	       v.outcome == OUTCOME_MODERATE_REJECT ||
	       v.outcome == OUTCOME_MODERATE_DISCARD;
	if (!acts && v.outcome != OUTCOME_MODERATE_REFUSED)
		fail("an outcome that is no moderation",
		     outcome_name(v.outcome));
	/* only the owner, only with the post's own token on its own list */
	if (acts &&
	    (variant != 0 || v.author == NULL ||
	     g_ascii_strcasecmp(v.author, FUZZ_OWNER) != 0 || v.held_id <= 0))
		fail("acted on a reply that may not act", v.author);
	/* both go to the sender and the log: one printable line */
	if (v.reject_reason != NULL && (v.outcome != OUTCOME_MODERATE_REJECT ||
					!printable_is_clean(v.reject_reason)))
		fail("a rejection reason that is not one printable line",
		     v.reject_reason);
	if (!acts && (v.line == NULL || !printable_is_clean(v.line)))
		fail("a refusal that is not one printable line", v.line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_world *w = fuzz_world();
	g_auto(Message) msg = { 0 };
	int fd = fuzz_memfd(data, size);

	if (message_parse(fd, (off_t)size, &msg, NULL) == 0) {
		if (fuzz_replaying)
			for (unsigned v = 0; v < 3; v++)
				decide(w, &msg, v);
		else
			decide(w, &msg, size % 5 < 3 ? 0 : size % 5 - 2);
	}
	close(fd);
	return 0;
}
