/* header-check.h - the last check of a header block before it leaves. */
#ifndef SOARLIST_HEADER_CHECK_H
#define SOARLIST_HEADER_CHECK_H

#include <gmime/gmime.h>

#define HEADER_CHECK_ERROR (header_check_error_quark())
GQuark header_check_error_quark(void);

/* 0 if every line of BLOCK (LEN bytes, NUL bytes included) is a header
 * field "Name: value" (printable ASCII name) or a continuation (starts
 * with SP or HT and is not blank), lines end in LF (CRLF allowed), and
 * the block ends with a line end; else -1 and an error naming the line
 * and the cause. */
int header_block_check(const char *block, size_t len, GError **error);

/* The bytes GMime writes for HEADERS, as message_write() sends them,
 * with their length in *LEN_R (they may hold NUL bytes). Newly
 * allocated. */
char *header_block_serialize(GMimeHeaderList *headers, size_t *len_r);

/* TRUE if RAW (a raw header value, as GMime keeps it after "Name:") holds
 * nothing that would break the line structure: no NUL, no CR but before
 * LF, every line after the first a non-blank continuation. */
gboolean header_raw_value_ok(const char *raw);

#endif
