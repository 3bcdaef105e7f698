/* address-list.h - the addresses of a header, parsed by GMime.
 *
 * Every address header soarlist reads (From, Cc, Reply-To, a DSN's
 * Original-Recipient...) is parsed here, so that what GMime's parser gets
 * wrong is worked around in one place.
 */
#ifndef SOARLIST_ADDRESS_LIST_H
#define SOARLIST_ADDRESS_LIST_H

#include <gmime/gmime.h>
#include <stddef.h>

/* The addresses of RAW, a header's raw value, as
 * internet_address_list_parse() finds them: a new list, or NULL when RAW
 * is NULL or holds none. Nothing in them is validated (address.h). */
InternetAddressList *address_list_parse(const char *raw);

/* How much of RAW address_list_parse() gives GMime: all of it, except
 * when a ']' in it (anywhere: GMime's reading is its own) is followed by
 * a comment that never ends, where GMime 3.2.13 may leak; then RAW up to
 * the last comma before that ']' that separates addresses, or nothing,
 * and that part checked again (address-list.c says why). When it is less
 * than all, the header must not go out as it is: what GMime would find
 * in the rest was never validated. */
size_t address_list_parse_length(const char *raw);

/* The address of MAILBOX, one of those address_list_parse() found, as
 * the header has it (its domain in IDNA ASCII form, where GMime's
 * get_addr() would give it decoded to Unicode) and normalized by
 * address_normalize(): a new string, or NULL if it is not valid. */
char *address_of_mailbox(InternetAddressMailbox *mailbox);

#endif
