/* address.h - validation and normalisation of e-mail addresses.
 *
 * Every address that reaches the database or a sendmail argv passes through
 * address_normalize(): one '@', no whitespace, control characters, commas,
 * double quotes or angle brackets, no leading '-', at most 254 bytes; the
 * domain is lowercased.
 */
#ifndef SOARLIST_ADDRESS_H
#define SOARLIST_ADDRESS_H

#include <glib.h>

#define ADDRESS_MAX_LEN 254

/* Validate ADDRESS. Returns a newly allocated normalised copy (domain
 * lowercased; caller frees with g_free) or NULL with *why_r set to a static
 * English phrase saying what is wrong (why_r may be NULL). */
char *address_normalize(const char *address, const char **why_r);

/* TRUE when ADDRESS (already normalised or not) is acceptable. */
gboolean address_is_valid(const char *address);

/* Split ADDRESS at its last '@'. Returns 0 and sets *local_r and *domain_r
 * (newly allocated) or -1 when there is no '@'. */
int address_split(const char *address, char **local_r, char **domain_r);

#endif
