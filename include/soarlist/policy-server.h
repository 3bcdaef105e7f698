/* policy-server.h - the Postfix SMTP access policy delegation protocol
 * (SMTPD_POLICY_README): name=value lines ended by an empty line, answered
 * by "action=..." and an empty line, many requests per connection. At
 * RCPT TO for a list address it refuses senders the list policy refuses,
 * with the same code as soarlist-deliver (policy.c).
 */
#ifndef SOARLIST_POLICY_SERVER_H
#define SOARLIST_POLICY_SERVER_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"

/* The action for one request (ATTRS: attribute name -> value). DB may be
 * NULL when the database could not be opened. Newly allocated, without the
 * "action=" prefix: "DUNNO", "550 5.7.1 ...", or "DEFER_IF_PERMIT ...". */
char *policy_server_answer(sqlite3 *db, const struct config *cfg,
			   GHashTable *attrs);

/* Serve requests from IN_FD and answer on OUT_FD until end of input. The
 * database is opened for each request, and the config file is read again
 * when it changes (CFG is the one read at start). Returns 0 at the end of
 * input, -1 on a protocol or I/O error (logged). */
int policy_server_run(const struct config *cfg, int in_fd, int out_fd);

#endif
