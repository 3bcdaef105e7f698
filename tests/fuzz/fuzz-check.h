/* fuzz-check.h - the header-policy oracle shared by the libFuzzer target
 * and the regression driver that runs in every `meson test`. */
#ifndef SOARLIST_FUZZ_CHECK_H
#define SOARLIST_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* how many list settings fuzz_message_check() knows (VARIANT below) */
#define FUZZ_VARIANTS 7

/* Parse DATA as soarlist-deliver does, apply the header policy under list
 * settings VARIANT (0..FUZZ_VARIANTS-1: reply_to sender/list/none, each
 * with from_rewrite yes and no; the last one the owner-forward cleaning
 * only) and check the result: the block passes header_block_check(), a
 * GMime parse of it finds the same headers, no header name the input or
 * the policy does not justify, and every address the policy wrote into
 * Cc or Reply-To passes address_is_valid(). 0, or -1 and *WHY_R. */
int fuzz_message_check(const uint8_t *data, size_t size, unsigned variant,
		       const char **why_r);

#endif
