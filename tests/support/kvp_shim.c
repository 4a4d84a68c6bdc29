/*
 * LD_PRELOAD shim that lets the real hv_kvp_daemon run without Hyper-V.
 *
 * The daemon talks to the kernel's KVP driver through the character device /dev/vmbus/hv_kvp:
 * one write() or read() per struct hv_kvp_msg. Outside a Hyper-V guest that device does not
 * exist, so this shim answers the daemon's open() of exactly that path with a duplicate of a
 * file descriptor the test handed down (a SOCK_SEQPACKET socketpair end, which keeps message
 * boundaries like the device does); the test plays the kernel on the other end. Every other
 * path goes to libc untouched.
 *
 *   KVP_SHIM_FD=<n>          descriptor to hand out for /dev/vmbus/hv_kvp (required to act)
 *   KVP_SHIM_HOSTNAME=<name> if set, gethostname() returns <name>: the daemon resolves its own
 *                            host name with getaddrinfo() at start, and a name missing from
 *                            /etc/hosts would cost a DNS round trip (or a timeout) per start.
 *
 * Built at test time by tests/support/kvp_daemon.rs with `cc -shared -fPIC`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static const char kvp_device[] = "/dev/vmbus/hv_kvp";

/*
 * Returns -2 when `path` is not the KVP device or the shim is not configured (the caller then
 * falls through to libc), otherwise a new descriptor or -1 with errno set.
 */
static int kvp_shim_open(const char *path)
{
	const char *text;
	char *end;
	long fd;

	if (path == NULL || strcmp(path, kvp_device) != 0)
		return -2;
	text = getenv("KVP_SHIM_FD");
	if (text == NULL || *text == '\0')
		return -2;
	errno = 0;
	fd = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || fd < 0 || fd > 1 << 20) {
		errno = EINVAL;
		return -1;
	}
	/* The daemon opens the device O_CLOEXEC; keep that for its popen() children. */
	return fcntl((int)fd, F_DUPFD_CLOEXEC, 3);
}

static mode_t open_mode(int flags, va_list ap)
{
	if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE)
		return va_arg(ap, mode_t);
	return 0;
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

static void *next_symbol(const char *name)
{
	void *sym = dlsym(RTLD_NEXT, name);

	if (sym == NULL)
		errno = ENOSYS;
	return sym;
}

#define DEFINE_OPEN(name)                                                  \
	int name(const char *path, int flags, ...)                         \
	{                                                                  \
		static open_fn real;                                       \
		va_list ap;                                                \
		mode_t mode;                                               \
		int fd;                                                    \
                                                                           \
		va_start(ap, flags);                                       \
		mode = open_mode(flags, ap);                               \
		va_end(ap);                                                \
		fd = kvp_shim_open(path);                                  \
		if (fd != -2)                                              \
			return fd;                                         \
		if (real == NULL)                                          \
			real = (open_fn)next_symbol(#name);                \
		if (real == NULL)                                          \
			return -1;                                         \
		return real(path, flags, mode);                            \
	}

#define DEFINE_OPENAT(name)                                                \
	int name(int dirfd, const char *path, int flags, ...)              \
	{                                                                  \
		static openat_fn real;                                     \
		va_list ap;                                                \
		mode_t mode;                                               \
		int fd;                                                    \
                                                                           \
		va_start(ap, flags);                                       \
		mode = open_mode(flags, ap);                               \
		va_end(ap);                                                \
		fd = kvp_shim_open(path);                                  \
		if (fd != -2)                                              \
			return fd;                                         \
		if (real == NULL)                                          \
			real = (openat_fn)next_symbol(#name);              \
		if (real == NULL)                                          \
			return -1;                                         \
		return real(dirfd, path, flags, mode);                     \
	}

/* hv_kvp_daemon 6.1 (Debian bookworm) imports plain open(); the rest cover other builds. */
DEFINE_OPEN(open)
DEFINE_OPEN(open64)
DEFINE_OPENAT(openat)
DEFINE_OPENAT(openat64)

int gethostname(char *name, size_t len)
{
	typedef int (*gethostname_fn)(char *, size_t);
	static gethostname_fn real;
	const char *fake = getenv("KVP_SHIM_HOSTNAME");
	size_t n;

	if (fake == NULL || *fake == '\0') {
		if (real == NULL)
			real = (gethostname_fn)next_symbol("gethostname");
		if (real == NULL)
			return -1;
		return real(name, len);
	}
	n = strlen(fake);
	if (n + 1 > len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(name, fake, n + 1);
	return 0;
}
