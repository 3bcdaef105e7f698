/* fuzz-message.c - libFuzzer target: parse an arbitrary message the way
 * soarlist-deliver does and apply the header policy (fuzz-check.c, the
 * oracle); nothing may crash and the header invariant must hold.
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true; the library is then
 * built a second time with coverage (libsoarlist_fuzz, src/lib).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;

	if (fuzz_message_check(data, size, (unsigned)size, &why) < 0) {
		fprintf(stderr, "header policy violated: %s\n", why);
		abort();
	}
	return 0;
}
