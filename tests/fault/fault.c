/* fault.c - an LD_PRELOAD shim that fails the Nth call of one kind of
 * system or library call, the way SQLite and curl test themselves:
 * tests/blackbox/test_faults.py runs a delivery or a sync once to count
 * the calls it makes, then once per injection point N.
 *
 * SYNOPSIS
 *	SOARLIST_FAULT=KIND:N[:ERRNO] SOARLIST_FAULT_REPORT=FILE \
 *	LD_PRELOAD=libsoarlist-fault.so PROGRAM ...
 *
 * KIND is one of
 *	write		write, pwrite, pwrite64, writev, sendfile
 *	fsync		fsync, fdatasync
 *	open		open, open64, openat, openat64
 *	fork		fork
 *	malloc		malloc, calloc, realloc (returns NULL, errno ENOMEM)
 *	sqlite3_step	sqlite3_step called by the program, not by SQLite
 *			itself (returns ERRNO as an SQLite result code,
 *			SQLITE_IOERR by default)
 * N counts from 1 the calls of that kind made by the process since the
 * shim's constructor ran; the Nth fails with ERRNO (a number or a name:
 * EIO, ENOSPC, EDQUOT, EACCES, EMFILE, EAGAIN, ENOMEM, EINTR; EIO when
 * not given) and every other call goes through. N = 0 injects nothing
 * (a counting run). With SOARLIST_FAULT_TRACE set, the failed call's
 * backtrace goes to stderr (backtrace_symbols_fd; addr2line resolves it).
 *
 * At exit (exit() or a return from main; not after a signal) the process
 * that loaded the shim writes FILE: one line "KIND COUNT" per kind, then
 * "malloc_at_fork M" (the malloc count when the last fork was made: the
 * allocations after M are those after sendmail started) and "fired 0|1"
 * (whether the fault was injected). A forked child injects and
 * counts nothing, and the shim removes LD_PRELOAD and its own variables
 * from the environment at load time, so the programs soarlist runs
 * (sendmail, the test's capturing shell script) never load it.
 *
 * The counters are atomic: libcurl's resolver thread may allocate while the
 * main thread does.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* the shim defines both pwrite and pwrite64 (and open, open64, ...): no
 * redirection of the former to the latter */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum kind { K_WRITE, K_FSYNC, K_OPEN, K_FORK, K_MALLOC, K_STEP, K_N };

static const char *const kind_names[K_N] = {
	"write", "fsync", "open", "fork", "malloc", "sqlite3_step",
};

static const struct {
	const char *name;
	int value;
} errno_names[] = {
	{ "EIO", EIO },       { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
	{ "EACCES", EACCES }, { "EMFILE", EMFILE }, { "EAGAIN", EAGAIN },
	{ "ENOMEM", ENOMEM }, { "EINTR", EINTR },   { "EROFS", EROFS },
	{ "EPERM", EPERM },
};

static int active;        /* counting (set by the constructor) */
static int target = -1;   /* the kind to fail, -1 none */
static unsigned long nth; /* which call of it, 0 none */
static int fault_errno = EIO;
static int fired;
static int trace;   /* SOARLIST_FAULT_TRACE: a backtrace on stderr */
static pid_t owner; /* the process that loaded the shim */
static unsigned long counts[K_N];
static unsigned long malloc_at_fork; /* counts[K_MALLOC] at the last fork */
static char report_path[4096];

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

/* TRUE when this call of KIND is the one to fail. */
static int
hit(enum kind k)
{
	unsigned long n;

	if (!active)
		return 0;
	n = __atomic_add_fetch(&counts[k], 1, __ATOMIC_SEQ_CST);
	if ((int)k != target || n != nth)
		return 0;
	__atomic_store_n(&fired, 1, __ATOMIC_SEQ_CST);
	if (trace) {
		void *frames[32];

		backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
	}
	return 1;
}

static void *
next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL) {
		static const char msg[] = "fault: a symbol is missing\n";

		/* no stdio: it may allocate */
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(70);
		_exit(70);
	}
	return p;
}

static int
parse_errno(const char *text)
{
	size_t i;

	if (*text >= '0' && *text <= '9')
		return atoi(text);
	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (strcmp(text, errno_names[i].name) == 0)
			return errno_names[i].value;
	return EIO;
}

static void
parse_spec(const char *spec)
{
	char buf[256], *n, *e;
	int k;

	snprintf(buf, sizeof(buf), "%s", spec);
	n = strchr(buf, ':');
	if (n == NULL)
		return;
	*n++ = '\0';
	e = strchr(n, ':');
	if (e != NULL)
		*e++ = '\0';
	for (k = 0; k < K_N; k++)
		if (strcmp(buf, kind_names[k]) == 0)
			target = k;
	nth = strtoul(n, NULL, 10);
	if (e != NULL && *e)
		fault_errno = parse_errno(e);
	else if (target == K_STEP)
		fault_errno = 10; /* SQLITE_IOERR */
	else if (target == K_MALLOC)
		fault_errno = ENOMEM;
}

__attribute__((constructor)) static void
fault_init(void)
{
	const char *spec = getenv("SOARLIST_FAULT");
	const char *report = getenv("SOARLIST_FAULT_REPORT");

	if (spec != NULL)
		parse_spec(spec);
	if (report != NULL)
		snprintf(report_path, sizeof(report_path), "%s", report);
	trace = getenv("SOARLIST_FAULT_TRACE") != NULL;
	unsetenv("SOARLIST_FAULT");
	unsetenv("SOARLIST_FAULT_TRACE");
	unsetenv("SOARLIST_FAULT_REPORT");
	unsetenv("LD_PRELOAD");
	owner = getpid();
	active = 1;
}

__attribute__((destructor)) static void
fault_fini(void)
{
	int (*real_open)(const char *, int, ...);
	ssize_t (*real_write)(int, const void *, size_t);
	char buf[512];
	int len = 0, k, fd;

	if (!active || getpid() != owner || report_path[0] == '\0')
		return;
	active = 0;
	for (k = 0; k < K_N; k++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s %lu\n",
				kind_names[k], counts[k]);
	len += snprintf(buf + len, sizeof(buf) - len, "malloc_at_fork %lu\n",
			malloc_at_fork);
	len += snprintf(buf + len, sizeof(buf) - len, "fired %d\n", fired);
	*(void **)&real_open = next("open");
	*(void **)&real_write = next("write");
	fd = real_open(report_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		       0600);
	if (fd < 0)
		return;
	if (real_write(fd, buf, len) != len)
		unlink(report_path);
	close(fd);
}

/* write */

ssize_t
write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (hit(K_WRITE)) {
		errno = fault_errno;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = next("write");
	return real(fd, buf, len);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (hit(K_WRITE)) {
		errno = fault_errno;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = next("pwrite");
	return real(fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off64_t);

	if (hit(K_WRITE)) {
		errno = fault_errno;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = next("pwrite64");
	return real(fd, buf, len, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	static ssize_t (*real)(int, const struct iovec *, int);

	if (hit(K_WRITE)) {
		errno = fault_errno;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = next("writev");
	return real(fd, iov, n);
}

ssize_t
sendfile(int out, int in, off_t *off, size_t len)
{
	static ssize_t (*real)(int, int, off_t *, size_t);

	if (hit(K_WRITE)) {
		errno = fault_errno;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = next("sendfile");
	return real(out, in, off, len);
}

ssize_t
sendfile64(int out, int in, off64_t *off, size_t len)
{
	static ssize_t (*real)(int, int, off64_t *, size_t);

	if (hit(K_WRITE)) {
		errno = fault_errno;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = next("sendfile64");
	return real(out, in, off, len);
}

/* fsync */

int
fsync(int fd)
{
	static int (*real)(int);

	if (hit(K_FSYNC)) {
		errno = fault_errno;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = next("fsync");
	return real(fd);
}

int
fdatasync(int fd)
{
	static int (*real)(int);

	if (hit(K_FSYNC)) {
		errno = fault_errno;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = next("fdatasync");
	return real(fd);
}

/* open: the mode argument is read only when the flags need it */

static mode_t
open_mode(int flags, va_list ap)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return va_arg(ap, mode_t);
	return 0;
}

#define OPEN_WRAPPER(name) \
	int name(const char *path, int flags, ...) \
	{ \
		static int (*real)(const char *, int, ...); \
		va_list ap; \
		mode_t mode; \
\
		va_start(ap, flags); \
		mode = open_mode(flags, ap); \
		va_end(ap); \
		if (hit(K_OPEN)) { \
			errno = fault_errno; \
			return -1; \
		} \
		if (real == NULL) \
			*(void **)&real = next(#name); \
		return real(path, flags, mode); \
	}

#define OPENAT_WRAPPER(name) \
	int name(int dir, const char *path, int flags, ...) \
	{ \
		static int (*real)(int, const char *, int, ...); \
		va_list ap; \
		mode_t mode; \
\
		va_start(ap, flags); \
		mode = open_mode(flags, ap); \
		va_end(ap); \
		if (hit(K_OPEN)) { \
			errno = fault_errno; \
			return -1; \
		} \
		if (real == NULL) \
			*(void **)&real = next(#name); \
		return real(dir, path, flags, mode); \
	}

OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)
OPENAT_WRAPPER(openat)
OPENAT_WRAPPER(openat64)

/* fork: the child neither counts nor injects */

pid_t
fork(void)
{
	static pid_t (*real)(void);
	pid_t pid;

	if (hit(K_FORK)) {
		errno = fault_errno;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = next("fork");
	/* the allocations after the last fork are those made after the
	 * helper (sendmail) started: a test samples them densely */
	malloc_at_fork = __atomic_load_n(&counts[K_MALLOC], __ATOMIC_SEQ_CST);
	pid = real();
	if (pid == 0)
		active = 0;
	return pid;
}

/* malloc: glibc's own entry points, so dlsym's allocations never recurse */

void *
malloc(size_t size)
{
	if (hit(K_MALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
	if (hit(K_MALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	if (hit(K_MALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, size);
}

/* sqlite3_step: the statement is not run; its result code is the fault.
 * Only the program's own calls count: a step that sqlite3_exec() makes
 * inside the library would be failed without the statement knowing, and
 * sqlite3_exec() returns what sqlite3_finalize() says, SQLITE_OK (a
 * COMMIT reported done that never ran is no fault SQLite can have). */

typedef struct sqlite3_stmt sqlite3_stmt;

static int
from_sqlite(const void *caller)
{
	Dl_info info;

	return dladdr(caller, &info) != 0 && info.dli_fname != NULL &&
	       strstr(info.dli_fname, "libsqlite3") != NULL;
}

int
sqlite3_step(sqlite3_stmt *stmt)
{
	static int (*real)(sqlite3_stmt *);

	if (!from_sqlite(__builtin_return_address(0)) && hit(K_STEP))
		return fault_errno;
	if (real == NULL)
		*(void **)&real = next("sqlite3_step");
	return real(stmt);
}
