/* fuzz-auth.c - libFuzzer target: Authentication-Results and Received
 * headers as a sender can write them, through auth_evaluate() and the
 * oracle of fuzz-auth-check.c. */
#include <gmime/gmime.h>
#include <stdlib.h>

#include "fuzz-auth-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gboolean ready;
	const char *why = NULL;

	if (!ready) {
		g_mime_init();
		ready = TRUE;
	}
	if (fuzz_auth_check(data, size, &why) < 0)
		abort();
	return 0;
}
