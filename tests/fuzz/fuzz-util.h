/* fuzz-util.h - what the fuzz targets share: the input in a memfd, one
 * scratch directory per process (removed at exit), and for the targets
 * that need the synced cache one world per process: a config file, a
 * database filled as `soarlist sync` fills it and a held post. Nothing is
 * ever written outside the scratch directory ($TMPDIR).
 */
#ifndef SOARLIST_FUZZ_UTIL_H
#define SOARLIST_FUZZ_UTIL_H

#include <glib.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "soarlist/config.h"

/* the club, list and owner of the world (fuzz_world) */
#define FUZZ_DOMAIN "ssc.example.org"
#define FUZZ_OWNER "owner@example.org"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* TRUE in the replay of the normal build (fuzz-main.c): a target then
 * tries every variant of an input that the fuzzer tries one at a time */
extern gboolean fuzz_replaying;

/* A new memfd holding DATA (SIZE bytes), at offset SIZE. Aborts when it
 * cannot be made (the harness, not the input, is broken). */
int fuzz_memfd(const uint8_t *data, size_t size);

/* This process's scratch directory, made at the first call and removed
 * with everything in it at exit. Borrowed. */
const char *fuzz_scratch_dir(void);

/* The world the database targets run against, made once per process:
 * club ssc (FUZZ_DOMAIN) with lists members, board (moderated, owner
 * FUZZ_OWNER) and others, synced from an M2S answer, and one post held
 * on board: its token in TOKEN. */
struct fuzz_world {
	struct config *cfg;
	sqlite3 *db;
	char *token;
};
const struct fuzz_world *fuzz_world(void);

/* Store the world's own M2S answer again (sync_store, forced): a target
 * that stores answers of its own starts each input from the same data. */
void fuzz_world_restore(void);

#endif
