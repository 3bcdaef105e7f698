/* proc.h - running a helper program (postmap, postconf) with an argv,
 * never a shell, and capturing what it prints.
 */
#ifndef SOARLIST_PROC_H
#define SOARLIST_PROC_H

#include <glib.h>

/* Run ARGV (ARGV[0] an absolute path) with stdin from /dev/null and its
 * stdout and stderr captured. Returns 0 when it exited 0, else -1 with
 * *error naming the program, its status and the first line it printed.
 * OUTPUT_R (may be NULL) receives everything it printed, newly allocated,
 * also on failure. */
int proc_run(char *const argv[], char **output_r, GError **error);

#endif
