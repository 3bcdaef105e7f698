/* decide.h - what becomes of a message to one of our addresses, decided in
 * one place without side effects (DESIGN.md's "decide").
 *
 * decide_resolve() parses the recipient, resolves the list in a read
 * transaction of its own, and takes every decision in order: the app's
 * reserved sender, no such list, loop, auto-reply, size, posting policy
 * (moderation, require_auth, the app's sender), no members, the recipients
 * and the Message-ID to claim. It writes nothing and sends nothing: the
 * delivery agent acts on the verdict (deliver.c), `soarlist check` prints
 * it, the policy service answers from it, so the three never disagree.
 * Without a message (RCPT TO time) only what the envelope shows is
 * decided.
 */
#ifndef SOARLIST_DECIDE_H
#define SOARLIST_DECIDE_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/catalog.h"
#include "soarlist/config.h"
#include "soarlist/message.h"
#include "soarlist/recipient.h"

/* How a message ends. Each has one exit status (DESIGN.md's table) and
 * one log word (outcome_status(), outcome_name()). */
enum outcome {
	OUTCOME_DISTRIBUTE,
	OUTCOME_HOLD,
	OUTCOME_DISCARD,
	OUTCOME_DROP_LOOP,
	OUTCOME_DROP_AUTO_SUBMITTED,
	OUTCOME_DROP_DUPLICATE,
	OUTCOME_OWNER_FORWARD,  /* -owner mail to the owners */
	OUTCOME_BOUNCE,         /* -bounces mail: scored, or forwarded */
	OUTCOME_BOUNCE_FORWARD, /* -bounces mail that is no DSN */
	OUTCOME_BOUNCE_SCORED,
	OUTCOME_BOUNCE_IGNORED,
	OUTCOME_BOUNCE_DISABLED,
	OUTCOME_BOUNCE_UNVERIFIED,
	OUTCOME_MODERATE_APPROVE, /* a moderation reply, acted on */
	OUTCOME_MODERATE_REJECT,
	OUTCOME_MODERATE_DISCARD,
	OUTCOME_REFUSE,           /* list policy or the reserved sender: 77 */
	OUTCOME_TOO_BIG,          /* over max_size: 77 */
	OUTCOME_NO_MEMBERS,       /* 77 */
	OUTCOME_MODERATE_REFUSED, /* a moderation reply refused: 77 */
	OUTCOME_NOUSER,           /* 67 */
	OUTCOME_UNPARSABLE,       /* 65 */
	OUTCOME_DEFER,            /* 75 */
};

/* Who handed the message over, where it matters: the app's noreply@
 * sender is reserved to the app's SMTP client (the policy service knows
 * the client; the delivery agent runs after it and does not). */
enum decide_client {
	CLIENT_UNKNOWN = 0,
	CLIENT_APP,
	CLIENT_OTHER,
};

struct decide_input {
	const struct config *cfg;
	const char *recipient;     /* as Postfix delivers it, or RCPT TO */
	const char *sender;        /* envelope sender, "" for the null one */
	const struct message *msg; /* NULL at RCPT TO time */
	gint64 size;               /* bytes; -1 when not known */
	gboolean approved;         /* a moderator approved it: no policy */
	enum decide_client client;
};

struct verdict {
	enum outcome outcome;
	/* one printable line: the DSN text of a refusal ("5.7.1 ..."), else
	 * why (the policy's reason, the held post's reason); may be NULL */
	char *line;
	/* REFUSE, HOLD, DISCARD: why, as a label ("nonmember",
	 * "unauthenticated", "moderated", "reserved_sender"; static), NULL
	 * otherwise: what stats.h counts the message under */
	const char *cause;
	struct recipient rcpt; /* the parsed recipient */
	struct list_ref list;  /* resolved (id 0 when not) */
	char *author;          /* normalised From, or NULL */
	char *msgid;           /* Message-ID, or NULL */
	/* DISTRIBUTE: who receives it (borrowed from the config or owned
	 * by MEMBERS); OWNER_FORWARD, BOUNCE: who gets what is no DSN */
	GPtrArray *rcpts;
	GPtrArray *members; /* owns the members' addresses */
	guint redirected;   /* members behind a dev_redirect copy */
	/* the Message-ID to claim for the list before sending (one copy per
	 * person and duplicates, seen.h), or NULL (a dev_redirect copy) */
	const char *claim;
	/* BOUNCE: the message carries this list's loop marker, so if it is
	 * no DSN, forwarding it to the owners would loop: it is dropped */
	gboolean forward_loops;
	/* MODERATE_*: the held post and the reason of a rejection */
	gint64 held_id;
	char *reject_reason;
};

/* The decisions that need neither the message nor the database: the
 * app's reserved sender, an address that is no list of ours. TRUE when *V
 * (zeroed by the caller) is decided; otherwise V holds the parsed
 * recipient for decide_resolve(). */
gboolean decide_address(const struct decide_input *in, struct verdict *v);

/* Decide IN. V is zeroed by the caller, or as decide_address() left it.
 * Returns 0 with *v filled (clear with verdict_clear; v->outcome says
 * what to do), or -1 with *error when the database cannot say (the caller
 * defers). */
int decide_resolve(sqlite3 *db, const struct decide_input *in,
		   struct verdict *v, GError **error);

/* Set V's outcome and line (taken; may be NULL): what acting on it
 * turned it into. */
void verdict_set(struct verdict *v, enum outcome outcome, char *line);

void verdict_clear(struct verdict *v);

/* g_auto(Verdict) v = { 0 }; calls verdict_clear() at the end of the
 * scope. The typedef is for g_auto(), which pastes one identifier. */
typedef struct verdict Verdict;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Verdict, verdict_clear)

/* The exit status of OUTCOME (sysexits.h) and its log word. */
int outcome_status(enum outcome outcome);
const char *outcome_name(enum outcome outcome);

/* TRUE when the MTA is told a line for OUTCOME (a bounce or defer). */
gboolean outcome_tells_mta(enum outcome outcome);

#endif
