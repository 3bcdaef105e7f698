/* api.h - parsing and validating the M2S /api/email-lists/ answer. Nothing
 * from the network is trusted: list names and addresses are checked here,
 * and whatever fails is dropped and counted, never stored.
 */
#ifndef SOARLIST_API_H
#define SOARLIST_API_H

#include <glib.h>

struct api_list {
	char *name;
	char *description; /* may be NULL */
	gboolean bypass;
	GPtrArray *members; /* normalised addresses, no duplicates */
};

/* A list M2S names that cannot have an address here: its name (free text
 * chosen by the club's webmaster, e.g. "Board Members") cannot be a
 * mailbox local part. */
struct api_unusable {
	char *name;   /* as M2S sent it, control characters escaped */
	char *why;    /* "it contains a space" */
	char *rename; /* a name that would work ("board-members"), or NULL */
};

struct api_data {
	GPtrArray *lists;     /* struct api_list *, sorted by name */
	GPtrArray *whitelist; /* normalised addresses, no duplicates */
	GPtrArray *unusable;  /* struct api_unusable *, in answer order */
	guint dropped;        /* invalid addresses dropped */
	GPtrArray *warnings;  /* one printable line per dropped address */
};

/* A new struct api_unusable with copies of NAME, WHY and RENAME (may be
 * NULL). */
struct api_unusable *api_unusable_new(const char *name, const char *why,
				      const char *rename);

/* What the club's webmaster should do about U: "rename the list at M2S,
 * e.g. to board-members". Newly allocated. */
char *api_unusable_fix(const struct api_unusable *u);

/* Free an api_unusable (a GDestroyNotify). */
void api_unusable_free(gpointer p);

/* g_autoptr(ApiUnusable) u calls api_unusable_free() at the end of the
 * scope. The typedef is for g_autoptr(), which pastes one identifier. */
typedef struct api_unusable ApiUnusable;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiUnusable, api_unusable_free)

/* The struct api_unusable for the list NAME (raw, as M2S sent it) that
 * recipient_list_name_is_valid() refuses: why, and what to rename it to.
 * Newly allocated. */
struct api_unusable *api_name_unusable(const char *name);

/* S made printable (printable.h: C0, DEL and C1 controls escaped), cut to
 * at most MAX bytes on a character boundary: untrusted text made fit for a
 * report line. Newly allocated. */
char *api_printable(const char *s, gsize max);

/* Parse JSON (LEN bytes). Returns new data (free with api_data_free) or
 * NULL with *error when the document is not a valid answer at all. */
struct api_data *api_parse(const char *json, gsize len, GError **error);

void api_data_free(struct api_data **data);

/* g_autoptr(ApiData) d = api_parse(...) calls api_data_free(&d) at the end
 * of the scope (through a wrapper: g_autoptr() passes the pointer itself). */
typedef struct api_data ApiData;
static inline void
api_data_autoptr_free(struct api_data *data)
{
	api_data_free(&data);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiData, api_data_autoptr_free)

/* Distinct member addresses over all lists. */
guint api_data_member_count(const struct api_data *data);

#endif
