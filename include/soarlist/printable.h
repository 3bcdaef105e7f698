/* printable.h - untrusted text as one printable line: the one escaping
 * soarlist uses for every value from a message, the M2S API or the command
 * line that reaches a log line, a stored field or a terminal.
 *
 * Escaped: C0 controls (U+0000-U+001F) and DEL as "\xHH" (a newline is
 * "\x0a"), C1 controls (U+0080-U+009F, two bytes in UTF-8) as "\u00HH"
 * (NEL is "\u0085", CSI "\u009b"), and a byte that is not part of valid
 * UTF-8 as "\xHH". Everything else is kept: printable ASCII, the
 * backslash, and valid UTF-8 outside the C1 range. The escaping is for
 * people to read, not to be reversed; applied twice it changes nothing.
 */
#ifndef SOARLIST_PRINTABLE_H
#define SOARLIST_PRINTABLE_H

#include <glib.h>

/* S made printable (newly allocated), NULL when S is NULL. */
char *printable_escape(const char *s);

/* TRUE when S (not NULL) holds nothing printable_escape() would change. */
gboolean printable_is_clean(const char *s);

/* S (newly allocated, taken) made printable: S itself when it is clean,
 * else its escaped copy (S is freed). NULL stays NULL. */
char *printable_take(char *s);

#endif
