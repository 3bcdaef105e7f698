/* decide-internal.h - what decide.c shares with decide-moderation.c.
 * Private to the library.
 */
#ifndef SOARLIST_DECIDE_INTERNAL_H
#define SOARLIST_DECIDE_INTERNAL_H

#include "soarlist/decide.h"

/* decide-moderation.c: the verdict on a reply to LIST-request+TOKEN: the
 * held post its token names, whether its author is an owner of the list,
 * and the command of its first line. 0, or -1 with *error. */
int decide_moderation_reply(sqlite3 *db, const struct decide_input *in,
			    struct verdict *v, GError **error);

#endif
