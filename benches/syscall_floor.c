/* The syscall floor of the spawn benchmark: the exact syscalls of one ADD of the plugin, in its
 * order, from a 9 KB static program with no C library and no parsing. The gap between this and
 * the plugin is what the plugin's own code and size cost; the gap between this and the floor is
 * what the kernel work of an ADD costs any implementation.
 *
 * Usage: syscall_floor POOL NETNS IFNAME (ignores the CNI environment; stdin is read and dropped).
 * Exits 1 if any step fails, so the benchmark never times a short cut. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define sys(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static void check(long ret) {
    if (ret < 0) sys(SYS_exit_group, 1, 0, 0);
}

static char input[4096], reply[8192];
static struct stat pool_stat, ns_stat, home_stat;
static char old_action[32];
static void on_sigbus(int sig) {
    (void)sig;
    sys(SYS_exit_group, 1, 0, 0);
}
static const char answer[] = "{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\",\"address\":\"172.16.1.2/16\"}]}";

/* The kernel starts us with the stack pointer on argc, then argv. */
__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start_c\n");

void start_c(long *stack) {
    char **argv = (char **)(stack + 1);
    if (stack[0] != 4) sys(SYS_exit_group, 2, 0, 0);
    const char *pool = argv[1], *netns = argv[2], *ifname = argv[3];

    while (sys(SYS_read, 0, input, sizeof input) > 0) {
    }
    /* The NIC first, with no lock held: the netns is checked (nsfs, not our own) before setns. */
    long ns = sys(SYS_openat, AT_FDCWD, netns, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    check(ns);
    long probe = sys(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    check(probe);
    long home = sys(SYS_ioctl, probe, SIOCGSKNS, 0);
    check(home);
    sys(SYS_close, probe, 0, 0);
    check(sys(SYS_fstat, ns, &ns_stat, 0));
    check(sys(SYS_fstat, home, &home_stat, 0));
    if (ns_stat.st_dev != home_stat.st_dev || ns_stat.st_ino == home_stat.st_ino) sys(SYS_exit_group, 1, 0, 0);
    check(sys(SYS_setns, ns, CLONE_NEWNET, 0));
    long nl = sys(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    check(nl);
    check(sys(SYS_setns, home, CLONE_NEWNET, 0));
    sys(SYS_close, home, 0, 0);
    sys(SYS_close, ns, 0, 0);

    struct {
        struct nlmsghdr header;
        struct ifinfomsg info;
        struct rtattr name_attr;
        char name[16];
        struct rtattr mask_attr;
        unsigned mask;
    } request = {
        .header = {.nlmsg_len = sizeof request, .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1},
        .name_attr = {.rta_len = sizeof(struct rtattr) + 16, .rta_type = IFLA_IFNAME},
        .mask_attr = {.rta_len = sizeof(struct rtattr) + 4, .rta_type = IFLA_EXT_MASK},
        .mask = RTEXT_FILTER_SKIP_STATS,
    };
    for (int i = 0; i < 15 && ifname[i]; i++) request.name[i] = ifname[i];
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    check(sys6(SYS_sendto, nl, (long)&request, sizeof request, 0, (long)&kernel, sizeof kernel));
    long got = sys6(SYS_recvfrom, nl, (long)reply, sizeof reply, MSG_TRUNC | MSG_DONTWAIT, 0, 0);
    if (got < (long)sizeof(struct nlmsghdr) || ((struct nlmsghdr *)reply)->nlmsg_type != RTM_NEWLINK)
        sys(SYS_exit_group, 1, 0, 0);
    sys(SYS_close, nl, 0, 0);

    /* The SIGBUS answer, as musl installs a first handler: unblock its internal signals, then
     * the action (the handler is never run here). */
    unsigned long internal = 3UL << 32; /* musl SIGPT_SET: signals 33 and 34 */
    sys6(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&internal, 0, 8, 0, 0);
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        unsigned long mask;
    } action = {.handler = on_sigbus, .flags = 0x04000000 /* SA_RESTORER */, .restorer = 0};
    check(sys6(SYS_rt_sigaction, SIGBUS, (long)&action, (long)&old_action, 8, 0, 0));

    /* Then the pool: its type checked through an O_PATH openat2 (no symlink followed), opened
     * by a second openat2, and locked only while it is mapped and read. */
    struct {
        unsigned long long flags, mode, resolve;
    } how = {.flags = O_PATH | O_CLOEXEC, .resolve = 0x04 /* RESOLVE_NO_SYMLINKS */};
    long handle = sys6(SYS_openat2, AT_FDCWD, (long)pool, (long)&how, sizeof how, 0, 0);
    check(handle);
    check(sys(SYS_fstat, handle, &pool_stat, 0));
    if (!S_ISREG(pool_stat.st_mode)) sys(SYS_exit_group, 1, 0, 0);
    sys(SYS_close, handle, 0, 0);
    how.flags = O_RDONLY | O_CLOEXEC;
    long fd = sys6(SYS_openat2, AT_FDCWD, (long)pool, (long)&how, sizeof how, 0, 0);
    check(fd);
    struct flock lock = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
    check(sys(SYS_fcntl, fd, F_OFD_SETLK, &lock));
    check(sys(SYS_fstat, fd, &pool_stat, 0));
    long size = pool_stat.st_size;
    long map = sys6(SYS_mmap, 0, size, PROT_READ, MAP_PRIVATE, fd, 0);
    check(map);
    for (long key = 0; key < size; key += 2560) (void)*(volatile char *)(map + key); /* as the lookup does */

    sys(SYS_munmap, map, size, 0);
    sys(SYS_close, fd, 0, 0);
    sys(SYS_write, 1, answer, sizeof answer - 1);
    sys(SYS_exit_group, 0, 0, 0);
}
