/* recipient.h - parsing the address Postfix delivers to.
 *
 * LIST@DOMAIN is a post; LIST-owner@DOMAIN reaches the list owner;
 * LIST-bounces@DOMAIN and LIST-bounces+user=host@DOMAIN (VERP) carry
 * bounces; LIST-request+TOKEN@DOMAIN answers a moderation notice. Any
 * other +extension is ignored, as Postfix ignores it in its lookup tables.
 * Matching is case-insensitive: everything is lowercased.
 */
#ifndef SOARLIST_RECIPIENT_H
#define SOARLIST_RECIPIENT_H

#include <glib.h>

enum recipient_kind {
	RECIPIENT_POST = 0,
	RECIPIENT_OWNER,
	RECIPIENT_BOUNCES,
	RECIPIENT_REQUEST, /* LIST-request+TOKEN: a moderator's answer */
};

struct recipient {
	enum recipient_kind kind;
	char *list;   /* list name, lowercased */
	char *domain; /* lowercased */
	char *verp;   /* "user=host" of a VERP bounce address, else NULL */
	char *token;  /* TOKEN of LIST-request+TOKEN, else NULL */
};

/* Parse ADDRESS into *r. Returns 0, or -1 when it cannot be a list address
 * (no '@', empty parts, characters no list name has). Free with
 * recipient_clear. */
int recipient_parse(const char *address, struct recipient *r);

void recipient_clear(struct recipient *r);

/* g_auto(Recipient) r = { 0 }; calls recipient_clear() at the end of the
 * scope. The typedef is for g_auto(), which pastes one identifier. */
typedef struct recipient Recipient;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Recipient, recipient_clear)

/* The address of role KIND of list LIST at DOMAIN, the inverse of
 * recipient_parse(): LIST@DOMAIN, LIST-owner@DOMAIN, LIST-bounces@DOMAIN
 * (LIST-bounces+EXTENSION@DOMAIN with an EXTENSION, a VERP "user=host"),
 * LIST-request+EXTENSION@DOMAIN (EXTENSION the moderation token). EXTENSION
 * may be NULL. Newly allocated. */
char *recipient_format(enum recipient_kind kind, const char *list,
		       const char *domain, const char *extension);

/* TRUE when NAME is acceptable as a list name: [a-z0-9][a-z0-9._-]*, at most
 * 64 bytes, not ending in -owner, -bounces or -request (those forms are
 * ours). */
gboolean recipient_list_name_is_valid(const char *name);

/* "private-owners" -> "Private Owners". Newly allocated. */
char *recipient_list_display(const char *name);

#endif
