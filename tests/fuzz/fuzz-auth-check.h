/* fuzz-auth-check.h - the oracle of authenticated posting (auth.h), shared
 * by the libFuzzer target fuzz-auth and the regression driver. */
#ifndef SOARLIST_FUZZ_AUTH_CHECK_H
#define SOARLIST_FUZZ_AUTH_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* the authserv-id the oracle trusts */
#define FUZZ_AUTHSERV_ID "mx.fuzz.test"

/* Parse DATA as soarlist-deliver does and evaluate it with auth_evaluate()
 * (envelope sender alice@example.org). Checks: it never crashes; the
 * detail is one printable line; a pass needs a header naming the
 * authserv-id; the same message below a Received of another host (what
 * a message carries that reached us through someone else) and the same
 * message without its Authentication-Results are never authenticated;
 * auth_parse_results() of every such header is consistent with itself.
 * 0, or -1 and *WHY_R. */
int fuzz_auth_check(const uint8_t *data, size_t size, const char **why_r);

#endif
