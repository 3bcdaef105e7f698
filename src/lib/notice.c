/* notice.c - building a short text message with GMime and handing it to
 * sendmail through the same code path as a post (spool file, struct
 * message, sendmail_send). Recipients and the Reply-To address pass
 * address_normalize(), as synced member addresses do, or are left out; the
 * subject (often a sender's) is made one printable line first.
 */
#include "soarlist/notice.h"

#include <gmime/gmime.h>
#include <errno.h>
#include <unistd.h>

#include "soarlist/address.h"
#include "soarlist/message.h"
#include "soarlist/rewrite.h"
#include "soarlist/sendmail.h"
#include "soarlist/spool.h"

static GMimeMessage *
build(const char *from, const char *reply_to, GPtrArray *rcpts,
      const char *subject, const char *body)
{
	GMimeMessage *m = g_mime_message_new(TRUE);
	GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
	GString *to = g_string_new(NULL);

	for (guint i = 0; i < rcpts->len; i++)
		g_string_append_printf(to, "%s%s", i ? ", " : "",
				       (char *)g_ptr_array_index(rcpts, i));
	g_mime_object_set_header(GMIME_OBJECT(m), "From", from, NULL);
	g_mime_object_set_header(GMIME_OBJECT(m), "To", to->str, NULL);
	if (reply_to != NULL)
		g_mime_object_set_header(GMIME_OBJECT(m), "Reply-To", reply_to,
					 NULL);
	g_mime_message_set_subject(m, subject, "utf-8");
	{
		GDateTime *now = g_date_time_new_now_local();
		g_mime_message_set_date(m, now);
		g_date_time_unref(now);
	}
	{
		char *id = g_mime_utils_generate_message_id(g_get_host_name());
		g_mime_message_set_message_id(m, id);
		g_free(id);
	}
	g_mime_object_set_header(GMIME_OBJECT(m), "Auto-Submitted",
				 "auto-generated", NULL);
	g_mime_text_part_set_text(part, body);
	g_mime_message_set_mime_part(m, GMIME_OBJECT(part));
	g_object_unref(part);
	g_string_free(to, TRUE);
	return m;
}

/* a notice subject stays far below the 998-byte line limit */
#define SUBJECT_MAX 200

/* The addresses of RCPTS that pass address_normalize(), normalized. */
static GPtrArray *
valid_rcpts(GPtrArray *rcpts)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < rcpts->len; i++) {
		char *a = address_normalize(g_ptr_array_index(rcpts, i), NULL);
		if (a != NULL)
			g_ptr_array_add(out, a);
	}
	return out;
}

static char *
clean_subject(const char *subject)
{
	char *s = rewrite_sanitize(subject);

	if (g_utf8_strlen(s, -1) > SUBJECT_MAX)
		*g_utf8_offset_to_pointer(s, SUBJECT_MAX) = '\0';
	return s;
}

static int
send_valid(const struct config *cfg, const char *envelope, const char *from,
	   const char *reply_to, GPtrArray *rcpts, const char *subject,
	   const char *body, GError **error)
{
	GMimeMessage *m = build(from, reply_to, rcpts, subject, body);
	struct spool spool = { .fd = -1 };
	struct message msg = { 0 };
	GPtrArray *to = rcpts;
	GMimeStream *s;
	int rc = -1, devnull[2];

	/* an empty spool file to write into: spool_from_fd on an empty pipe */
	if (pipe(devnull) < 0) {
		g_object_unref(m);
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "pipe: %s", g_strerror(errno));
		return -1;
	}
	close(devnull[1]);
	rc = spool_from_fd(devnull[0], cfg->spool_dir, &spool, error);
	close(devnull[0]);
	if (rc < 0) {
		g_object_unref(m);
		return -1;
	}
	s = g_mime_stream_fs_new(dup(spool.fd));
	rc = g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, s) < 0 ||
			     g_mime_stream_flush(s) < 0
		     ? -1
		     : 0;
	spool.size = lseek(spool.fd, 0, SEEK_END);
	g_object_unref(s);
	g_object_unref(m);
	if (rc < 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO,
			    "cannot write the notice");
	} else if (message_parse(spool.fd, spool.size, &msg, error) == 0) {
		if (cfg->dev_redirect != NULL) {
			to = g_ptr_array_new();
			g_ptr_array_add(to, cfg->dev_redirect);
		}
		rc = sendmail_send_timed(cfg->sendmail, cfg->sendmail_timeout,
					 envelope, FALSE, to, &msg, error);
		if (to != rcpts)
			g_ptr_array_unref(to);
		message_clear(&msg);
	} else {
		rc = -1;
	}
	spool_close(&spool);
	return rc;
}

int
notice_send(const struct config *cfg, const char *envelope, const char *from,
	    const char *reply_to, GPtrArray *rcpts, const char *subject,
	    const char *body, GError **error)
{
	g_autoptr(GPtrArray) to = valid_rcpts(rcpts);
	g_autofree char *subj = clean_subject(subject);
	g_autofree char *reply = reply_to ? address_normalize(reply_to, NULL)
					  : NULL;

	if (to->len == 0)
		return 0; /* nobody valid to tell */
	return send_valid(cfg, envelope, from, reply, to, subj, body, error);
}
