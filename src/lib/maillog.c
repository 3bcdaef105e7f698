/* maillog.c - Postfix-style logging: one line per event to syslog with
 * facility mail, or appended to a file (log_file) with a timestamp. Every
 * line is made printable (printable.c) before it is written: a folded
 * Message-ID or a control character in a value never forges a line.
 */
#include "soarlist/maillog.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "soarlist/printable.h"

static char *log_ident;
static int log_fd = -1;

void
maillog_open(const char *ident, const char *file)
{
	g_free(log_ident);
	log_ident = g_strdup(ident);
	if (file != NULL) {
		log_fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			      0640);
		if (log_fd >= 0)
			return;
		/* fall back to syslog rather than lose the line */
	}
	openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static void
emit(int prio, const char *level, const char *fmt, va_list ap)
{
	/* values in the line come from messages and the API: one line, and
	 * nothing a terminal acts on, whatever they hold */
	char *msg = printable_take(g_strdup_vprintf(fmt, ap));

	if (log_fd >= 0) {
		/* the C library's local time, as syslog() takes it: GLib's
		 * GTimeZone costs a delivery more (callgrind) */
		time_t now = time(NULL);
		struct tm tm;
		char ts[32] = "";
		char *line;
		ssize_t n;

		if (localtime_r(&now, &tm) != NULL)
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		/* one write() per line: lines of concurrent processes
		 * never interleave in an O_APPEND file */
		line = g_strdup_printf("%s %s[%d]: %s%s\n", ts,
				       log_ident ? log_ident : "soarlist",
				       (int)getpid(), level, msg);
		n = write(log_fd, line, strlen(line));
		(void)n;
		g_free(line);
	} else {
		syslog(prio, "%s%s", level, msg);
	}
	g_free(msg);
}

void
maillog_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
maillog_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
maillog_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

void
maillog_close(void)
{
	if (log_fd >= 0) {
		close(log_fd);
		log_fd = -1;
	} else {
		closelog();
	}
	g_clear_pointer(&log_ident, g_free);
}
