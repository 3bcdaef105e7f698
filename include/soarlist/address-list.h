/* address-list.h - the addresses of a header, parsed by GMime.
 *
 * Every address header soarlist reads (From, Cc, Reply-To, a DSN's
 * Original-Recipient...) is parsed here, so that what GMime's parser gets
 * wrong is worked around in one place.
 */
#ifndef SOARLIST_ADDRESS_LIST_H
#define SOARLIST_ADDRESS_LIST_H

#include <gmime/gmime.h>

/* The addresses of RAW, a header's raw value, as
 * internet_address_list_parse() finds them: a new list, or NULL when RAW
 * is NULL or holds none. Nothing in them is validated (address.h). */
InternetAddressList *address_list_parse(const char *raw);

/* How many comments RAW leaves open at its end, reading it as RFC 5322
 * does: no comment begins in a quoted string or a domain literal, a
 * backslash quotes the character after it, comments nest. */
int address_list_open_comments(const char *raw);

#endif
