/* footer-out.c - the stream a footer's new body is written to.
 *
 * A GMime stream on the new body's file that writes in large blocks and
 * keeps its first write error: GMime's filter and buffer streams may lose
 * a short write, so nothing truncated can go out as a success.
 */
#include "footer-internal.h"

#include <errno.h>
#include <string.h>

#include "soarlist/fdio.h"

#define OUT_BUF (256 * 1024)

typedef struct {
	GMimeStream parent;
	int fd;
	int error;      /* errno of the first failed write, 0: none */
	gint64 written; /* bytes handed to the kernel */
	size_t len;     /* bytes pending in buf */
	char *buf;
} FooterOut;

typedef struct {
	GMimeStreamClass parent_class;
} FooterOutClass;

G_DEFINE_TYPE(FooterOut, footer_out, GMIME_TYPE_STREAM)

static int
out_drain(FooterOut *s)
{
	if (s->error != 0) {
		errno = s->error;
		return -1;
	}
	if (s->len > 0 && fdio_write_all(s->fd, s->buf, s->len) < 0) {
		s->error = errno != 0 ? errno : EIO;
		return -1;
	}
	s->written += (gint64)s->len;
	s->len = 0;
	return 0;
}

static ssize_t
out_write(GMimeStream *stream, const char *buf, size_t len)
{
	FooterOut *s = (FooterOut *)stream;
	size_t done = 0;

	while (done < len) {
		size_t n = MIN(len - done, OUT_BUF - s->len);

		memcpy(s->buf + s->len, buf + done, n);
		s->len += n;
		done += n;
		if (s->len == OUT_BUF && out_drain(s) < 0)
			return -1;
	}
	if (s->error != 0) {
		errno = s->error;
		return -1;
	}
	stream->position += (gint64)len;
	return (ssize_t)len;
}

/* no fsync: the file is unlinked and only lives as long as this process */
static int
out_flush(GMimeStream *stream)
{
	return out_drain((FooterOut *)stream);
}

static ssize_t
out_read(GMimeStream *stream, char *buf, size_t len)
{
	(void)stream;
	(void)buf;
	(void)len;
	errno = EBADF;
	return -1;
}

static int
out_close(GMimeStream *stream)
{
	return out_drain((FooterOut *)stream);
}

static gboolean
out_eos(GMimeStream *stream)
{
	(void)stream;
	return FALSE;
}

static int
out_reset(GMimeStream *stream)
{
	(void)stream;
	return -1;
}

static gint64
out_seek(GMimeStream *stream, gint64 offset, GMimeSeekWhence whence)
{
	(void)stream;
	(void)offset;
	(void)whence;
	return -1;
}

static gint64
out_tell(GMimeStream *stream)
{
	return stream->position;
}

static gint64
out_length(GMimeStream *stream)
{
	(void)stream;
	return -1;
}

static GMimeStream *
out_substream(GMimeStream *stream, gint64 start, gint64 end)
{
	(void)stream;
	(void)start;
	(void)end;
	return NULL;
}

static void
footer_out_finalize(GObject *object)
{
	g_free(((FooterOut *)object)->buf);
	G_OBJECT_CLASS(footer_out_parent_class)->finalize(object);
}

static void
footer_out_class_init(FooterOutClass *klass)
{
	GMimeStreamClass *sc = GMIME_STREAM_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = footer_out_finalize;
	sc->read = out_read;
	sc->write = out_write;
	sc->flush = out_flush;
	sc->close = out_close;
	sc->eos = out_eos;
	sc->reset = out_reset;
	sc->seek = out_seek;
	sc->tell = out_tell;
	sc->length = out_length;
	sc->substream = out_substream;
}

static void
footer_out_init(FooterOut *s)
{
	s->fd = -1;
	s->buf = g_malloc(OUT_BUF);
}

GMimeStream *
footer_out_new(int fd)
{
	FooterOut *s = g_object_new(footer_out_get_type(), NULL);

	s->fd = fd;
	g_mime_stream_construct(GMIME_STREAM(s), 0, -1);
	return GMIME_STREAM(s);
}

gint64
footer_out_written(GMimeStream *stream)
{
	return ((FooterOut *)stream)->written;
}
