/* fuzz-api.c - libFuzzer target: api_parse() on arbitrary bytes must never
 * crash, and everything it accepts must be valid. */
#include <stdint.h>
#include <stdlib.h>

#include "soarlist/address.h"
#include "soarlist/api.h"
#include "soarlist/recipient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_data *d = api_parse((const char *)data, size, NULL);

	if (d == NULL)
		return 0;
	for (guint i = 0; i < d->lists->len; i++) {
		struct api_list *l = g_ptr_array_index(d->lists, i);
		if (!recipient_list_name_is_valid(l->name))
			abort();
		for (guint k = 0; k < l->members->len; k++)
			if (!address_is_valid(g_ptr_array_index(l->members, k)))
				abort();
	}
	for (guint k = 0; k < d->whitelist->len; k++)
		if (!address_is_valid(g_ptr_array_index(d->whitelist, k)))
			abort();
	/* a list kept aside is reported on a line: printable, with a reason,
	 * and any name it suggests is one that works */
	for (guint i = 0; i < d->unusable->len; i++) {
		struct api_unusable *u = g_ptr_array_index(d->unusable, i);
		for (const char *p = u->name; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		if (u->why == NULL || *u->why == '\0' ||
		    (u->rename != NULL &&
		     !recipient_list_name_is_valid(u->rename)))
			abort();
	}
	api_data_free(&d);
	return 0;
}
