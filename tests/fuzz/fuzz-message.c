/* fuzz-message.c - libFuzzer target: parse an arbitrary message the way
 * soarlist-deliver does, add a footer, apply the header policy and write
 * it out as sendmail is given it; the oracle (fuzz-check.c) checks the
 * DESIGN.md header invariant on the result, so an injection is a crash.
 * The list settings (FUZZ_VARIANTS) follow from the input's size; the
 * replay of the normal build tries them all.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz-check.h"
#include "fuzz-util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	unsigned n = fuzz_replaying ? FUZZ_VARIANTS : 1;

	for (unsigned i = 0; i < n; i++) {
		unsigned v = (unsigned)((size + i) % FUZZ_VARIANTS);

		if (fuzz_message_check(data, size, v, &why) < 0) {
			fprintf(stderr,
				"header policy violated (settings %u): %s\n", v,
				why);
			abort();
		}
	}
	return 0;
}
