/* archive.h - every distributed post, as members received it, kept per list
 * in a Maildir under archive_dir/CLUB/LIST (directories 0750, files 0640),
 * and exported as mboxrd.
 */
#ifndef SOARLIST_ARCHIVE_H
#define SOARLIST_ARCHIVE_H

#include <glib.h>
#include <stdio.h>

#include "soarlist/catalog.h"
#include "soarlist/config.h"
#include "soarlist/message.h"

/* Store MSG (headers as rewritten, body as sent) in REF's archive Maildir,
 * the Maildir way (tmp/, fsync, rename into new/). Does nothing when
 * cfg->archive_dir is unset. Returns 0 or -1 with *error. */
int archive_store(const struct config *cfg, const struct list_ref *ref,
		  const struct message *msg, GError **error);

/* Write the archive of list NAME of club SLUG to OUT as mboxrd, oldest
 * first, only posts archived in [SINCE, UNTIL) (unix times; 0: unbounded).
 * The archive time is the leading SECONDS of a file's name in new/ or cur/
 * (the file's mtime when the name does not start that way). A list with no
 * archive yet exports nothing. Returns the number of messages written, or
 * -1 with *error (OUT may then hold part of the export). */
int archive_export(const struct config *cfg, const char *slug, const char *name,
		   gint64 since, gint64 until, FILE *out, GError **error);

#endif
