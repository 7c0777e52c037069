/* SPDX-License-Identifier: ISC */
/* The agent process: forked by 'esessionctl agent', it holds keystore keys
 * in guarded memory (sodium_malloc: locked, kept out of core files, no
 * access between uses), each until its time is up, and answers requests
 * of this user's processes on its socket. It ends when it holds no key,
 * when told to stop, on SIGTERM, SIGINT or SIGHUP, or when its socket is
 * gone (the login session's runtime directory removed). */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED, accept4 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* How often the agent looks whether its socket is still there. */
#define CHECK_MS 30000
#define IO_SECONDS 2

typedef struct held {
    char *path;
    uint8_t *key;  /* ESESSION_KEYSTORE_KEY_BYTES, guarded */
    int64_t until; /* milliseconds on clock_ms() */
} held;

typedef struct agent {
    held keys[AGENT_KEYS_MAX];
    size_t n;
    int lfd;
    const char *sock;
    dev_t dev; /* the socket file, to notice when it is gone */
    ino_t ino;
    int stop;
} agent;

static int signal_fd = -1;

static void on_signal(int sig)
{
    int saved = errno;
    char b = (char)sig;
    if (signal_fd >= 0 && write(signal_fd, &b, 1) < 0) {
        /* the pipe is full: a signal is already pending */
    }
    errno = saved;
}

void agent_harden(void)
{
    struct rlimit none = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &none);
#ifdef __linux__
    /* No core file either way, and no ptrace attach or /proc/PID/mem by
     * other processes of this user. */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

/* Time that also runs while the machine sleeps, where there is one: a
 * laptop suspended for the night wakes with its keys expired. */
static int64_t clock_ms(void)
{
    struct timespec ts = {0, 0};
#ifdef CLOCK_BOOTTIME
    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
#endif
        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int find(const agent *a, const char *path)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->keys[i].path, path) == 0)
            return (int)i;
    return -1;
}

static void drop(agent *a, size_t i)
{
    sodium_free(a->keys[i].key); /* wipes */
    free(a->keys[i].path);
    a->keys[i] = a->keys[--a->n];
    memset(&a->keys[a->n], 0, sizeof a->keys[a->n]);
}

/* Hold key (guarded memory, taken over) for path; -1 when full. */
static int put(agent *a, const char *path, uint8_t *key, uint32_t seconds)
{
    int64_t until = clock_ms() + (int64_t)seconds * 1000;
    int i = find(a, path);
    if (i >= 0) {
        sodium_free(a->keys[i].key);
    } else {
        char *p = strdup(path);
        if (p == NULL || a->n == AGENT_KEYS_MAX) {
            free(p);
            sodium_free(key);
            return -1;
        }
        i = (int)a->n++;
        a->keys[i].path = p;
    }
    (void)sodium_mprotect_noaccess(key);
    a->keys[i].key = key;
    a->keys[i].until = until;
    return 0;
}

static void expire(agent *a, int64_t now)
{
    for (size_t i = a->n; i-- > 0;)
        if (a->keys[i].until <= now)
            drop(a, i);
}

static int reply(int fd, int code, const void *body, size_t len)
{
    uint8_t h[AGENT_HDR_BYTES];
    agent_hdr_put(h, code, len);
    return agent_write_all(fd, h, sizeof h) == 0 && (len == 0 || agent_write_all(fd, body, len) == 0)
               ? 0
               : -1;
}

/* An absolute path of len octets from fd into out (NUL-terminated). */
static int read_path(int fd, size_t len, char out[AGENT_PATH_MAX])
{
    if (len == 0 || len >= AGENT_PATH_MAX || agent_read_all(fd, out, len) != 0)
        return -1;
    out[len] = '\0';
    return out[0] == '/' && strlen(out) == len ? 0 : -1;
}

static void serve_add(agent *a, int fd, size_t len)
{
    char path[AGENT_PATH_MAX];
    uint8_t secs[4];
    if (len <= sizeof secs + ESESSION_KEYSTORE_KEY_BYTES || agent_read_all(fd, secs, 4) != 0) {
        (void)reply(fd, AGENT_R_BAD, NULL, 0);
        return;
    }
    uint32_t seconds = (uint32_t)secs[0] << 24 | (uint32_t)secs[1] << 16 |
                       (uint32_t)secs[2] << 8 | secs[3];
    uint8_t *key = sodium_malloc(ESESSION_KEYSTORE_KEY_BYTES);
    if (key == NULL || agent_read_all(fd, key, ESESSION_KEYSTORE_KEY_BYTES) != 0 ||
        read_path(fd, len - 4 - ESESSION_KEYSTORE_KEY_BYTES, path) != 0 || seconds == 0 ||
        seconds > AGENT_TIMEOUT_MAX) {
        if (key != NULL)
            sodium_free(key);
        (void)reply(fd, AGENT_R_BAD, NULL, 0);
        return;
    }
    (void)reply(fd, put(a, path, key, seconds) == 0 ? AGENT_R_OK : AGENT_R_BAD, NULL, 0);
}

static void serve_list(const agent *a, int fd)
{
    size_t cap = a->n * (AGENT_PATH_MAX + 24) + 1, used = 0;
    char *text = malloc(cap);
    if (text == NULL) {
        (void)reply(fd, AGENT_R_BAD, NULL, 0);
        return;
    }
    int64_t now = clock_ms();
    for (size_t i = 0; i < a->n; i++) {
        int64_t left = (a->keys[i].until - now + 999) / 1000;
        int w = snprintf(text + used, cap - used, "%lld\t%s\n", (long long)left, a->keys[i].path);
        if (w > 0 && (size_t)w < cap - used)
            used += (size_t)w;
    }
    (void)reply(fd, AGENT_R_OK, text, used);
    free(text);
}

/* The socket file is still the one this agent made. */
static int socket_is_ours(const agent *a)
{
    struct stat sb;
    return lstat(a->sock, &sb) == 0 && sb.st_dev == a->dev && sb.st_ino == a->ino;
}

/* One request from a connected client. */
static void serve(agent *a, int fd)
{
    struct ucred cred;
    socklen_t clen = sizeof cred;
    uint8_t h[AGENT_HDR_BYTES];
    char path[AGENT_PATH_MAX];
    int op, i;
    size_t len;
    /* The directory is private already; the peer's user is checked anyway. */
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || cred.uid != getuid())
        return;
    struct timeval tv = {IO_SECONDS, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (agent_read_all(fd, h, sizeof h) != 0 || agent_hdr_get(h, &op, &len) != 0)
        return;
    switch (op) {
    case AGENT_ADD:
        serve_add(a, fd, len);
        break;
    case AGENT_GET:
        if (read_path(fd, len, path) != 0) {
            (void)reply(fd, AGENT_R_BAD, NULL, 0);
        } else if ((i = find(a, path)) < 0) {
            (void)reply(fd, AGENT_R_NONE, NULL, 0);
        } else {
            (void)sodium_mprotect_readonly(a->keys[i].key);
            (void)reply(fd, AGENT_R_OK, a->keys[i].key, ESESSION_KEYSTORE_KEY_BYTES);
            (void)sodium_mprotect_noaccess(a->keys[i].key);
        }
        break;
    case AGENT_FORGET:
        if (read_path(fd, len, path) != 0) {
            (void)reply(fd, AGENT_R_BAD, NULL, 0);
        } else if ((i = find(a, path)) < 0) {
            (void)reply(fd, AGENT_R_NONE, NULL, 0);
        } else {
            drop(a, (size_t)i);
            (void)reply(fd, AGENT_R_OK, NULL, 0);
        }
        break;
    case AGENT_LIST:
        serve_list(a, fd);
        break;
    case AGENT_STOP:
        /* Done before the answer: once 'agent --stop' returns, the keys are
         * wiped and no one can connect. */
        while (a->n > 0)
            drop(a, a->n - 1);
        if (socket_is_ours(a))
            (void)unlink(a->sock);
        a->stop = 1;
        (void)reply(fd, AGENT_R_OK, NULL, 0);
        break;
    default:
        (void)reply(fd, AGENT_R_BAD, NULL, 0);
        break;
    }
}

static void run(agent *a, int sig_rfd)
{
    while (!a->stop) {
        int64_t now = clock_ms();
        expire(a, now);
        if (a->n == 0 || !socket_is_ours(a))
            break;
        int64_t wait = CHECK_MS;
        for (size_t i = 0; i < a->n; i++)
            if (a->keys[i].until - now < wait)
                wait = a->keys[i].until - now;
        struct pollfd p[2] = {{a->lfd, POLLIN, 0}, {sig_rfd, POLLIN, 0}};
        int r = poll(p, 2, (int)wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || p[1].revents != 0)
            break;
        if (p[0].revents & POLLIN) {
            int fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                serve(a, fd);
                close(fd);
            }
        }
    }
    while (a->n > 0)
        drop(a, a->n - 1);
    if (socket_is_ours(a))
        (void)unlink(a->sock);
    close(a->lfd);
}

/* Descriptors the agent keeps; every other one is closed (the lock of the
 * starting command among them). */
static void close_others(const int *keep, size_t nkeep)
{
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < (int)max; fd++) {
        int kept = 0;
        for (size_t i = 0; i < nkeep; i++)
            kept |= keep[i] == fd;
        if (!kept)
            (void)close(fd);
    }
}

static int stdio_to_null(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int ok = dup2(fd, 0) >= 0 && dup2(fd, 1) >= 0 && dup2(fd, 2) >= 0;
    if (fd > 2)
        close(fd);
    return ok ? 0 : -1;
}

/* The forked child. It tells the command through ready: 0 ready, 2 ready
 * but its memory not locked, 1 failed. */
static void agent_main(const agent_where *w, int lfd, const char *canon, uint8_t *key,
                       uint32_t seconds, int ready)
{
    static agent a; /* one per process: the child of agent_spawn */
    int sig[2] = {-1, -1};
    char ok = 1;
    struct stat sb;
    agent_harden();
    (void)setsid(); /* no terminal, no signals of the shell that started it */
    umask(077);
    memset(&a, 0, sizeof a);
    a.lfd = lfd;
    a.sock = w->sock;
    uint8_t *mine = sodium_malloc(ESESSION_KEYSTORE_KEY_BYTES);
    if (mine != NULL)
        memcpy(mine, key, ESESSION_KEYSTORE_KEY_BYTES);
    /* The copy inherited from the command is wiped here: mlock is not
     * inherited, the agent's own allocation is locked. */
    sodium_memzero(key, ESESSION_KEYSTORE_KEY_BYTES);
    /* Listening here makes the socket's credentials (SO_PEERCRED, as
     * clients see them) the agent's own. */
    int set = mine != NULL && chdir("/") == 0 && listen(lfd, 16) == 0 &&
              lstat(w->sock, &sb) == 0 && pipe(sig) == 0 && fcntl(sig[1], F_SETFL, O_NONBLOCK) == 0;
    /* sodium_malloc locks quietly; whether it could is worth saying. */
    int locked = set && sodium_mlock(mine, ESESSION_KEYSTORE_KEY_BYTES) == 0;
    if (!set && mine != NULL)
        sodium_free(mine);
    if (set && put(&a, canon, mine, seconds) == 0) { /* put frees mine if it fails */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sigemptyset(&sa.sa_mask);
        sa.sa_handler = on_signal;
        signal_fd = sig[1];
        ok = sigaction(SIGTERM, &sa, NULL) == 0 && sigaction(SIGINT, &sa, NULL) == 0 &&
                     sigaction(SIGHUP, &sa, NULL) == 0
                 ? (locked ? 0 : 2)
                 : 1;
        sa.sa_handler = SIG_IGN;
        (void)sigaction(SIGPIPE, &sa, NULL);
        a.dev = sb.st_dev;
        a.ino = sb.st_ino;
    }
    const int keep[] = {lfd, sig[0], sig[1], ready};
    close_others(keep, sizeof keep / sizeof keep[0]);
    if (ok != 1 && stdio_to_null() != 0)
        ok = 1;
    while (write(ready, &ok, 1) < 0 && errno == EINTR) {
    }
    close(ready);
    if (ok != 1)
        run(&a, sig[0]);
    while (a.n > 0)
        drop(&a, a.n - 1);
    _exit(ok);
}

int agent_spawn(const cli *c, const agent_where *w, int lfd, const char *canon, uint8_t *key,
                uint32_t seconds, pid_t *pid)
{
    int ready[2];
    if (pipe(ready) != 0) {
        cli_err(c, "cannot start the agent: %s", strerror(errno));
        return -1;
    }
    (void)fflush(NULL);
    pid_t p = fork();
    if (p < 0) {
        cli_err(c, "cannot start the agent: %s", strerror(errno));
        close(ready[0]);
        close(ready[1]);
        return -1;
    }
    if (p == 0) {
        close(ready[0]);
        agent_main(w, lfd, canon, key, seconds, ready[1]);
    }
    close(ready[1]);
    char b = 1;
    ssize_t r;
    while ((r = read(ready[0], &b, 1)) < 0 && errno == EINTR) {
    }
    close(ready[0]);
    if (r != 1 || (b != 0 && b != 2)) {
        cli_err(c, "the agent could not start");
        return -1;
    }
    if (b == 2)
        cli_warn(c, "the agent cannot lock its memory (see RLIMIT_MEMLOCK): its keys may be "
                    "written to swap");
    *pid = p;
    return 0;
}
