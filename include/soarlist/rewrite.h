/* rewrite.h - the header policy for a distributed post (DESIGN.md "Header
 * policy"): From with "via", Reply-To, List-* headers, Precedence, the loop
 * marker, subject prefix, and removal of headers that must not go out.
 */
#ifndef SOARLIST_REWRITE_H
#define SOARLIST_REWRITE_H

#include <gmime/gmime.h>

#include "soarlist/catalog.h"

/* the loop marker: "X-Loop: LIST@DOMAIN" */
#define REWRITE_LOOP_HEADER "X-Loop"
/* added when dev_redirect replaced the member list */
#define REWRITE_REDIRECT_HEADER "X-Soarlist-Dev-Redirect"

struct rewrite_input {
	const struct list_ref *list;
	const char *envelope_sender; /* as given with -f, may be "" */
	guint redirected_members;    /* >0: dev_redirect stood for this many */
};

/* Apply the header policy to HEADERS in place. Returns 0 (it cannot fail on
 * any input; the return value is kept for symmetry). */
int rewrite_headers(GMimeHeaderList *headers, const struct rewrite_input *in);

/* TRUE when the envelope sender is noreply@ one of the club's domains: the
 * M2S app's own notifications keep their From. */
gboolean rewrite_from_exempt(const struct list_ref *list, const char *sender);

/* The subject with PREFIX put in front unless it is there already (also
 * after "Re:"/"Fwd:"), "(no subject)" for an empty one. SUBJECT is decoded
 * UTF-8 or NULL. Newly allocated. */
char *rewrite_subject(const char *subject, const char *prefix);

/* The display name for the rewritten From: "NAME via LIST", or
 * "local at domain via LIST" when the author gave no name. Control
 * characters become spaces. Newly allocated. */
char *rewrite_from_name(const char *name, const char *address,
			const char *list_display);

/* Replace control characters (CR, LF, TAB, ...) by spaces and collapse runs
 * of white space. Newly allocated. */
char *rewrite_sanitize(const char *text);

/* Make every header of HEADERS safe to send as it is: a header whose name
 * is not printable ASCII is removed, a value whose lines would not all be
 * continuations (CR, NUL, blank line) is unfolded and stripped of control
 * characters (rewrite_sanitize). Posts and owner forwards go through it. */
void rewrite_clean_headers(GMimeHeaderList *headers);

/* TRUE when HEADERS carry the loop marker of REF (on any of its domains). */
gboolean rewrite_has_loop_marker(GMimeHeaderList *headers,
				 const struct list_ref *ref);

/* TRUE when an Auto-Submitted header says anything but "no". */
gboolean rewrite_is_auto_submitted(GMimeHeaderList *headers);

#endif
