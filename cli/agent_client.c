/* SPDX-License-Identifier: ISC */
/* The agent's socket as commands use it: where it lives, whether its
 * directory is private, connecting (the peer must be this user), and one
 * request and reply. */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED */
#include "agent.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* The longest an agent may take to answer. */
#define AGENT_IO_SECONDS 5

int agent_where_get(const cli *c, agent_where *w)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    const char *tmp = getenv("TMPDIR");
    int n;
    /* XDG_RUNTIME_DIR is the user's own, private, and gone at logout: the
     * place for a login session's agent. Without it, a directory of our
     * own under the temporary directory, checked like it. */
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(w->dir, sizeof w->dir, "%s/esession", xdg);
    else
        n = snprintf(w->dir, sizeof w->dir, "%s/esession-agent-%lu",
                     tmp != NULL && tmp[0] == '/' ? tmp : "/tmp", (unsigned long)getuid());
    if (n < 0 || (size_t)n >= sizeof w->dir ||
        (size_t)snprintf(w->sock, sizeof w->sock, "%s/agent.sock", w->dir) >= sizeof w->sock) {
        if (c != NULL)
            cli_err(c, "the agent's socket path under %s is too long for a UNIX socket",
                    xdg != NULL && xdg[0] == '/' ? "$XDG_RUNTIME_DIR" : "$TMPDIR");
        return -1;
    }
    return 0;
}

int agent_dir_ok(const cli *c, const agent_where *w, int create)
{
    struct stat sb;
    if (create && mkdir(w->dir, 0700) != 0 && errno != EEXIST) {
        if (c != NULL)
            cli_err(c, "cannot create the agent's directory %s: %s", w->dir, strerror(errno));
        return -1;
    }
    if (lstat(w->dir, &sb) != 0) {
        if (errno == ENOENT)
            return 1;
        if (c != NULL)
            cli_err(c, "cannot use the agent's directory %s: %s", w->dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode) || sb.st_uid != getuid() || (sb.st_mode & 077) != 0) {
        if (c != NULL)
            cli_err(c, "%s is not a private directory (a directory of yours, mode 700); "
                       "the agent is not used",
                    w->dir);
        return -1;
    }
    return 0;
}

static void set_timeouts(int fd)
{
    struct timeval tv = {AGENT_IO_SECONDS, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int agent_connect(const cli *c, const agent_where *w, pid_t *pid)
{
    if (agent_dir_ok(c, w, 0) != 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, w->sock, strlen(w->sock) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1; /* no agent: no socket, or nobody listening on it */
    }
    /* A key goes only to a process of this user. */
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != getuid()) {
        if (c != NULL)
            cli_warn(c, "the process on %s is not yours; not using it", w->sock);
        close(fd);
        return -1;
    }
    set_timeouts(fd);
    if (pid != NULL)
        *pid = cred.pid;
    return fd;
}

int agent_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int agent_read_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

void agent_hdr_put(uint8_t h[AGENT_HDR_BYTES], int code, size_t len)
{
    h[0] = 'E';
    h[1] = 'S';
    h[2] = 'A';
    h[3] = (uint8_t)code;
    for (int i = 0; i < 4; i++)
        h[4 + i] = (uint8_t)(len >> (24 - 8 * i));
}

int agent_hdr_get(const uint8_t h[AGENT_HDR_BYTES], int *code, size_t *len)
{
    if (h[0] != 'E' || h[1] != 'S' || h[2] != 'A')
        return -1;
    *code = h[3];
    *len = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
    return *len <= AGENT_BODY_MAX ? 0 : -1;
}

int agent_request(int fd, int op, const void *a, size_t alen, const uint8_t *key,
                  const void *b, size_t blen, uint8_t *key_out, char **text)
{
    uint8_t h[AGENT_HDR_BYTES];
    size_t klen = key != NULL ? ESESSION_KEYSTORE_KEY_BYTES : 0, len;
    int code = -1, rc = -1;
    agent_hdr_put(h, op, alen + klen + blen);
    if (agent_write_all(fd, h, sizeof h) != 0 || (alen && agent_write_all(fd, a, alen) != 0) ||
        (klen && agent_write_all(fd, key, klen) != 0) || (blen && agent_write_all(fd, b, blen) != 0))
        goto out;
    if (agent_read_all(fd, h, sizeof h) != 0 || agent_hdr_get(h, &code, &len) != 0)
        goto out;
    if (len == 0) {
        rc = code;
    } else if (code == AGENT_R_OK && key_out != NULL && len == ESESSION_KEYSTORE_KEY_BYTES) {
        /* Straight into the caller's guarded memory. */
        rc = agent_read_all(fd, key_out, len) == 0 ? code : -1;
    } else if (code == AGENT_R_OK && text != NULL) {
        char *t = malloc(len + 1);
        if (t != NULL && agent_read_all(fd, t, len) == 0) {
            t[len] = '\0';
            *text = t;
            rc = code;
        } else {
            free(t);
        }
    }
out:
    close(fd);
    return rc;
}

int agent_canon(const char *path, char out[AGENT_PATH_MAX])
{
    char *r = realpath(path, NULL);
    if (r == NULL)
        return -1;
    size_t n = strlen(r);
    int ok = n < AGENT_PATH_MAX;
    if (ok)
        memcpy(out, r, n + 1);
    free(r);
    return ok ? 0 : -1;
}

/* Connect to this user's agent quietly: commands do without one. */
static int connect_quiet(const cli *c)
{
    agent_where w;
    if (agent_where_get(NULL, &w) != 0)
        return -1;
    /* An unsafe directory is worth a word; a missing agent is not. */
    if (agent_dir_ok(NULL, &w, 0) < 0) {
        (void)agent_dir_ok(c, &w, 0);
        return -1;
    }
    return agent_connect(c, &w, NULL);
}

int agent_key_get(const cli *c, const char *path, uint8_t *key)
{
    char canon[AGENT_PATH_MAX];
    if (agent_canon(path, canon) != 0)
        return 0;
    int fd = connect_quiet(c);
    if (fd < 0)
        return 0;
    return agent_request(fd, AGENT_GET, canon, strlen(canon), NULL, NULL, 0, key, NULL) ==
           AGENT_R_OK;
}

int agent_key_forget(const cli *c, const char *path)
{
    char canon[AGENT_PATH_MAX];
    if (agent_canon(path, canon) != 0)
        return 0;
    int fd = connect_quiet(c);
    if (fd < 0)
        return 0;
    return agent_request(fd, AGENT_FORGET, canon, strlen(canon), NULL, NULL, 0, NULL, NULL) ==
           AGENT_R_OK;
}
