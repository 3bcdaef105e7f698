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
	api_data_free(&d);
	return 0;
}
