/* rewrite.c - the header policy for a distributed post.
 *
 * All header work goes through GMime's header list. The new From is built
 * as a raw value (quoted phrase, or RFC 2047 encoded words when the name is
 * not ASCII) because it must read exactly "Name via List" <list-bounces@..>;
 * everything the sender wrote is stripped of control characters first, so
 * an encoded CR/LF can never become a header of its own. Every address we
 * write (Cc, Reply-To, the name taken from an address) has passed
 * address_normalize(), as a synced member address has, or is left out;
 * header-check.c checks the final block before sendmail sees it.
 */
#include "soarlist/rewrite.h"

#include <string.h>

#include "soarlist/address-list.h"
#include "soarlist/address.h"
#include "soarlist/header-check.h"
#include "soarlist/policy.h"
#include "soarlist/recipient.h"

/* headers that must not go out as they came in: ours replace them */
static const char *const removed_headers[] = {
	"Return-Path",
	"DKIM-Signature",
	"Disposition-Notification-To",
	"List-Id",
	"List-Post",
	"List-Help",
	"List-Owner",
	"List-Unsubscribe",
	"List-Unsubscribe-Post",
	"List-Subscribe",
	"List-Archive",
	"Precedence",
	"X-Auto-Response-Suppress",
	REWRITE_REDIRECT_HEADER,
	NULL,
};

char *
rewrite_sanitize(const char *text)
{
	GString *s = g_string_new(NULL);
	gboolean space = TRUE; /* drops leading white space */

	for (const char *p = text ? text : ""; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (!space)
				g_string_append_c(s, ' ');
			space = TRUE;
		} else {
			g_string_append_c(s, (char)c);
			space = FALSE;
		}
	}
	if (s->len > 0 && s->str[s->len - 1] == ' ')
		g_string_truncate(s, s->len - 1);
	if (!g_utf8_validate(s->str, (gssize)s->len, NULL)) {
		char *valid = g_utf8_make_valid(s->str, (gssize)s->len);
		g_string_free(s, TRUE);
		return valid;
	}
	return g_string_free(s, FALSE);
}

static void
remove_all(GMimeHeaderList *headers, const char *name)
{
	while (g_mime_header_list_remove(headers, name))
		;
}

static gboolean
name_ok(const char *name)
{
	if (name == NULL || *name == '\0')
		return FALSE;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 33 || (unsigned char)*p > 126 ||
		    *p == ':')
			return FALSE;
	return TRUE;
}

gboolean
rewrite_from_exempt(const struct list_ref *list, const char *sender)
{
	return policy_is_app_sender(list->club, sender);
}

/* longer display names are cut: a From line must stay far below 998 */
#define FROM_NAME_MAX 200

char *
rewrite_from_name(const char *name, const char *address,
		  const char *list_display)
{
	char *clean = rewrite_sanitize(name);
	char *out;

	if (g_utf8_strlen(clean, -1) > FROM_NAME_MAX)
		*g_utf8_offset_to_pointer(clean, FROM_NAME_MAX) = '\0';

	if (*clean == '\0' && address != NULL && *address != '\0') {
		const char *at = strrchr(address, '@');
		char *a = at ? g_strdup_printf("%.*s at %s",
					       (int)(at - address), address,
					       at + 1)
			     : g_strdup(address);
		g_free(clean);
		clean = rewrite_sanitize(a);
		g_free(a);
	}
	if (*clean == '\0')
		out = g_strdup(list_display);
	else
		out = g_strdup_printf("%s via %s", clean, list_display);
	g_free(clean);
	return out;
}

static gboolean
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return FALSE;
	return TRUE;
}

/* Replace the first header NAME by RAW (a raw value: leading space, folded,
 * ending in a newline) and remove any others of that name. */
static void
replace_raw(GMimeHeaderList *headers, const char *name, const char *raw)
{
	GMimeHeader *h = g_mime_header_list_get_header(headers, name);

	if (h == NULL) {
		g_mime_header_list_append(headers, name, "", NULL);
		h = g_mime_header_list_get_header(headers, name);
	} else {
		/* keep the first in place, drop duplicates after it */
		int n = g_mime_header_list_get_count(headers);
		for (int i = n - 1; i >= 0; i--) {
			GMimeHeader *o = g_mime_header_list_get_header_at(
				headers, i);
			if (o != h &&
			    g_ascii_strcasecmp(g_mime_header_get_name(o),
					       name) == 0)
				g_mime_header_list_remove_at(headers, i);
		}
	}
	g_mime_header_set_raw_value(h, raw);
}

/* Set header NAME to LIST, encoded (RFC 2047 where needed) and folded at
 * address and word boundaries by GMime. */
static void
set_addresses(GMimeHeaderList *headers, const char *name,
	      InternetAddressList *list)
{
	GString *line = g_string_new(name);

	g_string_append(line, ": ");
	internet_address_list_encode(list, NULL, line);
	/* the raw value is what follows "NAME:" */
	replace_raw(headers, name, line->str + strlen(name) + 1);
	g_string_free(line, TRUE);
}

/* Set header NAME to the single mailbox "NAME" <ADDRESS>. An ASCII name is
 * written as a quoted string, exactly as DESIGN.md shows it; any other goes
 * through GMime's encoder. A long line is folded before the "<", never
 * inside the address. */
static void
set_mailbox(GMimeHeaderList *headers, const char *header, const char *name,
	    const char *address)
{
	GString *raw;

	if (!is_ascii(name)) {
		InternetAddressList *list = internet_address_list_new();
		InternetAddress *ia = internet_address_mailbox_new(name,
								   address);

		internet_address_set_charset(ia, "utf-8");
		internet_address_list_add(list, ia);
		set_addresses(headers, header, list);
		g_object_unref(ia);
		g_object_unref(list);
		return;
	}
	raw = g_string_new(" \"");
	for (const char *p = name; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_c(raw, '\\');
		g_string_append_c(raw, *p);
	}
	g_string_append_c(raw, '"');
	if (strlen(header) + raw->len + strlen(address) + 4 > 78)
		g_string_append(raw, "\n");
	g_string_append_printf(raw, " <%s>\n", address);
	replace_raw(headers, header, raw->str);
	g_string_free(raw, TRUE);
}

/* The first mailbox of header NAME (parsed from its raw value), or NULL. */
static InternetAddressMailbox *
first_mailbox(GMimeHeaderList *headers, const char *name,
	      InternetAddressList **list_r)
{
	GMimeHeader *h = g_mime_header_list_get_header(headers, name);

	*list_r = NULL;
	if (h == NULL)
		return NULL;
	*list_r = address_list_parse(g_mime_header_get_raw_value(h));
	if (*list_r == NULL || internet_address_list_length(*list_r) == 0)
		return NULL;
	{
		InternetAddress *ia = internet_address_list_get_address(*list_r,
									0);
		return INTERNET_ADDRESS_IS_MAILBOX(ia)
			       ? INTERNET_ADDRESS_MAILBOX(ia)
			       : NULL;
	}
}

/* NAME made safe for a header: sanitized, at most FROM_NAME_MAX long. */
static char *
clean_name(const char *name)
{
	char *clean = rewrite_sanitize(name);

	if (g_utf8_strlen(clean, -1) > FROM_NAME_MAX)
		*g_utf8_offset_to_pointer(clean, FROM_NAME_MAX) = '\0';
	return clean;
}

/* Append to OUT the mailboxes of IN (groups flattened) whose address
 * passes address_normalize(); the others are left out. */
static void
add_valid(InternetAddressList *out, InternetAddressList *in)
{
	for (int i = 0; in && i < internet_address_list_length(in); i++) {
		InternetAddress *ia = internet_address_list_get_address(in, i);
		InternetAddress *copy;
		char *addr, *name;

		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			add_valid(out, internet_address_group_get_members(
					       INTERNET_ADDRESS_GROUP(ia)));
			continue;
		}
		addr = address_of_mailbox(INTERNET_ADDRESS_MAILBOX(ia));
		if (addr == NULL)
			continue;
		name = clean_name(internet_address_get_name(ia));
		copy = internet_address_mailbox_new(name, addr);
		internet_address_set_charset(copy, "utf-8");
		internet_address_list_add(out, copy);
		g_object_unref(copy);
		g_free(name);
		g_free(addr);
	}
}

/* TRUE if NAME (decoded) holds no control character. */
static gboolean
name_printable(const char *name)
{
	if (name == NULL || !g_utf8_validate(name, -1, NULL))
		return name == NULL;
	for (const char *p = name; *p; p = g_utf8_next_char(p))
		if (g_unichar_iscntrl(g_utf8_get_char(p)))
			return FALSE;
	return TRUE;
}

/* TRUE if no line of RAW is longer than RFC 5322's 998 bytes. */
static gboolean
lines_short(const char *raw)
{
	for (const char *p = raw; p != NULL && *p;) {
		const char *nl = strchr(p, '\n');
		if ((nl ? (size_t)(nl - p) : strlen(p)) > 998)
			return FALSE;
		p = nl ? nl + 1 : NULL;
	}
	return TRUE;
}

/* TRUE if RAW holds MAILBOX's address as address_normalize() gives it
 * (ASCII case aside). Not so when the sender wrote its domain in Unicode:
 * the address that is valid is then its A-label form, not what RAW has. */
static gboolean
written_as_valid(const char *raw, InternetAddressMailbox *mailbox)
{
	g_autofree char *addr = address_of_mailbox(mailbox);
	g_autofree char *lraw = g_ascii_strdown(raw, -1);
	g_autofree char *laddr = addr ? g_ascii_strdown(addr, -1) : NULL;

	return laddr != NULL && strstr(lraw, laddr) != NULL;
}

/* TRUE if RAW, an address header as the sender wrote it, may go out as
 * it is: sound and short lines, parsed into LIST (at least one address),
 * only mailboxes, each address valid and written as it is valid, and each
 * name free of control characters. */
static gboolean
addresses_sound(const char *raw, InternetAddressList *list)
{
	InternetAddressList *v;
	gboolean ok;

	if (list == NULL || !header_raw_value_ok(raw) || !lines_short(raw) ||
	    raw[address_list_parse_length(raw)] != '\0')
		return FALSE;
	if (internet_address_list_length(list) == 0)
		return FALSE; /* text GMime finds no address in */
	v = internet_address_list_new();
	add_valid(v, list);
	ok = internet_address_list_length(v) ==
	     internet_address_list_length(list);
	g_object_unref(v);
	for (int i = 0; ok && i < internet_address_list_length(list); i++) {
		InternetAddress *ia = internet_address_list_get_address(list,
									i);
		ok = INTERNET_ADDRESS_IS_MAILBOX(ia) &&
		     name_printable(internet_address_get_name(ia)) &&
		     written_as_valid(raw, INTERNET_ADDRESS_MAILBOX(ia));
	}
	return ok;
}

/* Header NAME (Cc, Reply-To) as the sender wrote it if addresses_sound(),
 * else rewritten with its valid addresses, else removed. */
static void
clean_address_header(GMimeHeaderList *headers, const char *name)
{
	GMimeHeader *h = g_mime_header_list_get_header(headers, name);
	const char *raw = h ? g_mime_header_get_raw_value(h) : NULL;
	InternetAddressList *list, *v;

	if (h == NULL)
		return;
	list = address_list_parse(raw);
	if (addresses_sound(raw, list)) {
		g_object_unref(list);
		return;
	}
	v = internet_address_list_new();
	add_valid(v, list);
	if (internet_address_list_length(v) > 0)
		set_addresses(headers, name, v);
	else
		remove_all(headers, name);
	g_object_unref(v);
	g_clear_object(&list);
}

/* Add the author to Cc unless it is there already; an author address
 * that fails validation is left out, and so is any Cc address that does
 * once the header is rewritten. */
static void
cc_author(GMimeHeaderList *headers, InternetAddressMailbox *author)
{
	GMimeHeader *h = g_mime_header_list_get_header(headers, "Cc");
	char *addr = address_of_mailbox(author);
	InternetAddressList *cc, *in;

	if (addr == NULL)
		return;
	in = h ? address_list_parse(g_mime_header_get_raw_value(h)) : NULL;
	cc = internet_address_list_new();
	add_valid(cc, in);
	for (int i = 0; i < internet_address_list_length(cc); i++) {
		if (g_ascii_strcasecmp(
			    internet_address_mailbox_get_idn_addr(
				    INTERNET_ADDRESS_MAILBOX(
					    internet_address_list_get_address(
						    cc, i))),
			    addr) == 0) {
			g_clear_object(&in);
			g_object_unref(cc);
			g_free(addr);
			return;
		}
	}
	{
		char *name = clean_name(
			internet_address_get_name(INTERNET_ADDRESS(author)));
		InternetAddress *copy = internet_address_mailbox_new(name,
								     addr);
		internet_address_set_charset(copy, "utf-8");
		internet_address_list_add(cc, copy);
		g_object_unref(copy);
		g_free(name);
	}
	set_addresses(headers, "Cc", cc);
	g_clear_object(&in);
	g_object_unref(cc);
	g_free(addr);
}

/* Reply-To for reply_to = sender: the author's own bytes when every
 * address in them is valid and the lines are sound, else the valid
 * addresses rewritten, else none. */
static void
reply_to_author(GMimeHeaderList *headers, const char *orig_raw,
		InternetAddressList *from)
{
	InternetAddressList *v;

	if (addresses_sound(orig_raw, from)) {
		replace_raw(headers, "Reply-To", orig_raw);
		return;
	}
	v = internet_address_list_new();
	add_valid(v, from);
	if (internet_address_list_length(v) > 0)
		set_addresses(headers, "Reply-To", v);
	g_object_unref(v);
}

static gboolean
is_address_header(const char *name)
{
	static const char *const names[] = {
		"From",      "Sender",    "Reply-To",    "To",
		"Cc",        "Bcc",       "Resent-From", "Resent-Sender",
		"Resent-To", "Resent-Cc", "Resent-Bcc",  NULL,
	};

	for (int i = 0; names[i] != NULL; i++)
		if (g_ascii_strcasecmp(name, names[i]) == 0)
			return TRUE;
	return FALSE;
}

/* Write the valid addresses of address header H again (its raw value was
 * not sound); FALSE if it has none, to be removed. */
static gboolean
readdress(GMimeHeader *h)
{
	const char *name = g_mime_header_get_name(h);
	InternetAddressList *list = address_list_parse(
		g_mime_header_get_raw_value(h));
	InternetAddressList *v = internet_address_list_new();
	gboolean any;

	add_valid(v, list);
	any = internet_address_list_length(v) > 0;
	if (any) {
		GString *line = g_string_new(name);
		g_string_append(line, ": ");
		internet_address_list_encode(v, NULL, line);
		g_mime_header_set_raw_value(h, line->str + strlen(name) + 1);
		g_string_free(line, TRUE);
	}
	g_object_unref(v);
	g_clear_object(&list);
	return any;
}

/* Write every header again under its name as GMime reads it: a name the
 * sender wrote as "Date :" (obsolete syntax GMime accepts) goes out as
 * "Date:". Clearing and appending keeps the order (Received, DKIM). */
static void
rename_all(GMimeHeaderList *headers)
{
	int n = g_mime_header_list_get_count(headers);
	char **names = g_new0(char *, n + 1), **raws = g_new0(char *, n + 1);

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		names[i] = g_strdup(g_mime_header_get_name(h));
		raws[i] = g_strdup(g_mime_header_get_raw_value(h));
	}
	g_mime_header_list_clear(headers);
	for (int i = 0; i < n; i++) {
		g_mime_header_list_append(headers, names[i], "", NULL);
		g_mime_header_set_raw_value(
			g_mime_header_list_get_header_at(headers, i), raws[i]);
	}
	g_strfreev(names);
	g_strfreev(raws);
}

void
rewrite_clean_headers(GMimeHeaderList *headers)
{
	gboolean rename = FALSE;

	for (int i = g_mime_header_list_get_count(headers) - 1; i >= 0; i--) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *raw = g_mime_header_get_raw_value(h);
		char *clean, *v;

		if (!name_ok(g_mime_header_get_name(h))) {
			g_mime_header_list_remove_at(headers, i);
			continue;
		}
		if (!name_ok(g_mime_header_get_raw_name(h)))
			rename = TRUE;
		if (header_raw_value_ok(raw))
			continue;
		if (is_address_header(g_mime_header_get_name(h))) {
			if (!readdress(h))
				g_mime_header_list_remove_at(headers, i);
			continue;
		}
		clean = rewrite_sanitize(raw);
		v = g_strdup_printf(" %s\n", clean);
		g_mime_header_set_raw_value(h, v);
		g_free(v);
		g_free(clean);
	}
	if (rename)
		rename_all(headers);
}

static void
rewrite_from(GMimeHeaderList *headers, const struct rewrite_input *in)
{
	const struct list_ref *l = in->list;
	const struct list_settings *s = &l->settings;
	GMimeHeader *from = g_mime_header_list_get_header(headers, "From");
	InternetAddressList *list = NULL;
	InternetAddressMailbox *mb = first_mailbox(headers, "From", &list);
	char *orig_raw = from ? g_strdup(g_mime_header_get_raw_value(from))
			      : NULL;
	char *name, *addr, *author;

	/* "john at example.com via ..." only from an address that is valid */
	author = mb ? address_of_mailbox(mb)
		    : address_normalize(in->envelope_sender, NULL);
	name = rewrite_from_name(
		mb ? internet_address_get_name(INTERNET_ADDRESS(mb)) : NULL,
		author, l->display);
	g_free(author);
	addr = s->from_address == FROM_ADDRESS_LIST
		       ? g_strdup(l->address)
		       : recipient_format(RECIPIENT_BOUNCES, l->name, l->domain,
					  NULL);
	set_mailbox(headers, "From", name, addr);
	if (s->reply_to == REPLY_TO_SENDER && orig_raw != NULL &&
	    !g_mime_header_list_contains(headers, "Reply-To")) {
		reply_to_author(headers, orig_raw, list);
	} else if (s->reply_to == REPLY_TO_LIST && mb != NULL) {
		cc_author(headers, mb);
	}
	g_free(addr);
	g_free(name);
	g_free(orig_raw);
	if (list != NULL)
		g_object_unref(list);
}

char *
rewrite_subject(const char *subject, const char *prefix)
{
	char *clean = rewrite_sanitize(subject);
	char *out, *lc, *lp;
	gboolean present;

	if (prefix == NULL || *prefix == '\0')
		return clean;
	/* "[ssc]" typed by hand is the prefix too: never add it twice */
	lc = g_utf8_casefold(clean, -1);
	lp = g_utf8_casefold(prefix, -1);
	present = strstr(lc, lp) != NULL;
	g_free(lc);
	g_free(lp);
	if (present)
		return clean;
	out = g_strdup_printf("%s %s", prefix, *clean ? clean : "(no subject)");
	g_free(clean);
	return out;
}

/* RAW, a raw value, folds soundly: every line after the first starts
 * with a blank (a continuation). */
static gboolean
folds_soundly(const char *raw)
{
	for (const char *p = strchr(raw, '\n'); p != NULL;
	     p = strchr(p + 1, '\n'))
		if (p[1] != '\0' && p[1] != ' ' && p[1] != '\t')
			return FALSE;
	return TRUE;
}

/* TEXT (one line, no control characters) as a raw value of header NAME:
 * encoded where needed (RFC 2047, by GMime), folded by us at the blanks
 * between its words. Newly allocated. */
static char *
encode_folded(const char *name, const char *text)
{
	g_autofree char *enc = g_mime_utils_header_encode_text(NULL, text,
							       "utf-8");
	g_auto(GStrv) words = g_strsplit(enc, " ", -1);
	GString *raw = g_string_new(NULL);
	gsize line = strlen(name) + 1;

	for (char **w = words; *w != NULL; w++) {
		if (**w == '\0')
			continue;
		if (raw->len > 0 && line + 1 + strlen(*w) > 76) {
			g_string_append_c(raw, '\n');
			line = 0;
		}
		g_string_append_c(raw, ' ');
		g_string_append(raw, *w);
		line += 1 + strlen(*w);
	}
	g_string_append_c(raw, '\n');
	return g_string_free(raw, FALSE);
}

static void
rewrite_subject_header(GMimeHeaderList *headers, const char *prefix)
{
	GMimeHeader *h = g_mime_header_list_get_header(headers, "Subject");
	const char *old = h ? g_mime_header_get_value(h) : NULL;
	char *subject = rewrite_subject(old, prefix);

	if (old == NULL || strcmp(old, subject) != 0) {
		if (h != NULL)
			g_mime_header_set_value(h, NULL, subject, "utf-8");
		else
			g_mime_header_list_append(headers, "Subject", subject,
						  "utf-8");
		/* GMime can fold a long encoded word unsoundly, leaving a
		 * line that is no continuation (sendmail_send() would refuse
		 * the post for good): then we fold it ourselves */
		h = g_mime_header_list_get_header(headers, "Subject");
		if (!folds_soundly(g_mime_header_get_raw_value(h))) {
			g_autofree char *raw = encode_folded("Subject",
							     subject);
			g_mime_header_set_raw_value(h, raw);
		}
	}
	g_free(subject);
}

static void
add_list_headers(GMimeHeaderList *headers, const struct rewrite_input *in)
{
	const struct list_ref *l = in->list;
	g_autofree char *owner = NULL;
	char *v;

	v = g_strdup_printf("<%s.%s>", l->name, l->domain);
	g_mime_header_list_append(headers, "List-Id", v, NULL);
	g_free(v);
	v = g_strdup_printf("<mailto:%s>", l->address);
	g_mime_header_list_append(headers, "List-Post", v, NULL);
	g_free(v);
	owner = recipient_format(RECIPIENT_OWNER, l->name, l->domain, NULL);
	v = g_strdup_printf("<mailto:%s?subject=help>", owner);
	g_mime_header_list_append(headers, "List-Help", v, NULL);
	g_free(v);
	v = g_strdup_printf("<mailto:%s>", owner);
	g_mime_header_list_append(headers, "List-Owner", v, NULL);
	g_free(v);
	if (l->settings.list_unsubscribe != NULL) {
		v = g_strdup_printf("<%s>", l->settings.list_unsubscribe);
		g_mime_header_list_append(headers, "List-Unsubscribe", v, NULL);
		g_free(v);
	}
	g_mime_header_list_append(headers, "Precedence", "list", NULL);
	g_mime_header_list_append(headers, REWRITE_LOOP_HEADER, l->address,
				  NULL);
	g_mime_header_list_append(headers, "X-Auto-Response-Suppress",
				  "OOF, AutoReply", NULL);
	if (in->redirected_members > 0) {
		v = g_strdup_printf("%u members of %s", in->redirected_members,
				    l->address);
		g_mime_header_list_append(headers, REWRITE_REDIRECT_HEADER, v,
					  NULL);
		g_free(v);
	}
}

int
rewrite_headers(GMimeHeaderList *headers, const struct rewrite_input *in)
{
	const struct list_settings *s = &in->list->settings;

	rewrite_clean_headers(headers);
	clean_address_header(headers, "Reply-To");
	clean_address_header(headers, "Cc");
	for (int i = 0; removed_headers[i] != NULL; i++)
		remove_all(headers, removed_headers[i]);
	if (s->from_rewrite &&
	    !rewrite_from_exempt(in->list, in->envelope_sender)) {
		rewrite_from(headers, in);
	}
	if (s->reply_to == REPLY_TO_LIST) {
		g_autofree char *raw = g_strdup_printf(" %s\n",
						       in->list->address);
		replace_raw(headers, "Reply-To", raw);
	}
	if (s->subject_prefix != NULL)
		rewrite_subject_header(headers, s->subject_prefix);
	add_list_headers(headers, in);
	return 0;
}

/* The value of a header as a bare lowercase token: trimmed, comments and
 * angle brackets removed. Newly allocated. */
static char *
token(GMimeHeader *h)
{
	char *v = g_ascii_strdown(g_mime_header_get_value(h), -1);
	char *p;

	g_strstrip(v);
	if ((p = strpbrk(v, ";( \t")) != NULL)
		*p = '\0';
	if (v[0] == '<') {
		memmove(v, v + 1, strlen(v));
		if ((p = strchr(v, '>')) != NULL)
			*p = '\0';
	}
	return v;
}

gboolean
rewrite_has_loop_marker(GMimeHeaderList *headers, const struct list_ref *ref)
{
	int n = g_mime_header_list_get_count(headers);

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		char *v, *at;
		gboolean match = FALSE;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h),
				       REWRITE_LOOP_HEADER) != 0)
			continue;
		v = token(h);
		at = strrchr(v, '@');
		if (at != NULL && (size_t)(at - v) == strlen(ref->name) &&
		    strncmp(v, ref->name, (size_t)(at - v)) == 0)
			match = g_strv_contains(
				(const char *const *)ref->club->domains,
				at + 1);
		g_free(v);
		if (match)
			return TRUE;
	}
	return FALSE;
}

gboolean
rewrite_is_auto_submitted(GMimeHeaderList *headers)
{
	int n = g_mime_header_list_get_count(headers);

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		char *v;
		gboolean autosub;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h),
				       "Auto-Submitted") != 0)
			continue;
		v = token(h);
		autosub = *v != '\0' && strcmp(v, "no") != 0;
		g_free(v);
		if (autosub)
			return TRUE;
	}
	return FALSE;
}
