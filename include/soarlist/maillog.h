/* maillog.h - one line per event, Postfix style: to syslog (facility mail),
 * or appended to the file named by log_file in the config.
 */
#ifndef SOARLIST_MAILLOG_H
#define SOARLIST_MAILLOG_H

#include <glib.h>

/* Start logging as IDENT. FILE non-NULL: append there instead of syslog. */
void maillog_open(const char *ident, const char *file);

void maillog_info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void maillog_warning(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void maillog_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

void maillog_close(void);

#endif
