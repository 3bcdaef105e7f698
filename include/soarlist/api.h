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

struct api_data {
	GPtrArray *lists;     /* struct api_list *, sorted by name */
	GPtrArray *whitelist; /* normalised addresses, no duplicates */
	guint dropped;        /* invalid addresses and list names dropped */
	GPtrArray *warnings;  /* one printable line per dropped item */
};

/* Parse JSON (LEN bytes). Returns new data (free with api_data_free) or
 * NULL with *error when the document is not a valid answer at all. */
struct api_data *api_parse(const char *json, gsize len, GError **error);

void api_data_free(struct api_data **data);

/* Distinct member addresses over all lists. */
guint api_data_member_count(const struct api_data *data);

#endif
