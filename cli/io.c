/* SPDX-License-Identifier: ISC */
/* Bounded input, and output that keeps secrets away from readable files. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_read_input(const cli *c, const char *path, size_t max, char **out, size_t *len)
{
    int use_stdin = path == NULL || strcmp(path, "-") == 0;
    const char *name = use_stdin ? "standard input" : path;
    int fd = use_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        cli_err(c, "cannot open %s: %s", path, strerror(errno));
        return CLI_EXIT_IO;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    int rc = buf != NULL ? CLI_OK : CLI_EXIT_INTERNAL;
    while (rc == CLI_OK) {
        if (n == cap) {
            if (cap > max) {
                cli_err(c, "%s is larger than %zu octets", name, max);
                rc = CLI_EXIT_REJECTED;
                break;
            }
            /* Not realloc: the old block may hold a private key, and
             * realloc would free it without wiping. */
            size_t ncap = cap * 2;
            char *nb = malloc(ncap + 1);
            if (nb == NULL) {
                rc = CLI_EXIT_INTERNAL;
                break;
            }
            memcpy(nb, buf, n);
            cli_free_wiped(buf, n);
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cli_err(c, "cannot read %s: %s", name, strerror(errno));
            rc = CLI_EXIT_IO;
        } else if (r == 0) {
            break;
        } else {
            n += (size_t)r;
        }
    }
    if (rc == CLI_OK && n > max) {
        cli_err(c, "%s is larger than %zu octets", name, max);
        rc = CLI_EXIT_REJECTED;
    }
    if (!use_stdin)
        close(fd);
    if (rc == CLI_EXIT_INTERNAL)
        cli_err(c, "out of memory");
    if (rc != CLI_OK) {
        if (buf != NULL)
            sodium_memzero(buf, n);
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CLI_OK;
}

void cli_free_wiped(void *p, size_t n)
{
    if (p == NULL)
        return;
    sodium_memzero(p, n);
    free(p);
}

int cli_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

int cli_write_stdout(const cli *c, const char *data, size_t len)
{
    if (fwrite(data, 1, len, stdout) != len) {
        cli_err(c, "cannot write the output: %s", strerror(errno));
        return CLI_EXIT_IO;
    }
    return CLI_OK;
}

int cli_flush_stdout(const cli *c)
{
    if (fflush(stdout) != 0) {
        cli_err(c, "cannot write the output: %s", strerror(errno));
        return CLI_EXIT_IO;
    }
    /* A file keeps it across a crash of the machine too; a pipe or a
     * terminal has taken it once the write returned. */
    if (fsync(STDOUT_FILENO) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP) {
        cli_err(c, "cannot sync the output: %s", strerror(errno));
        return CLI_EXIT_IO;
    }
    return CLI_OK;
}

int cli_secret_fd_ok(const cli *c, int fd, const char *what)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        cli_err(c, "cannot check where %s goes: %s", what, strerror(errno));
        return CLI_EXIT_IO;
    }
    /* Terminals and pipes are the user's own; a file others can read (or
     * write) is not a place for a private key. */
    if (S_ISREG(sb.st_mode) && (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        cli_err(c, "refusing to write %s to a file that others can access (mode %03o); "
                   "use a file with mode 600, e.g. (umask 077; esessionctl ... > FILE)",
                what, (unsigned)(sb.st_mode & 0777));
        return CLI_EXIT_IO;
    }
    return CLI_OK;
}

int cli_write_new_file(const cli *c, const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        cli_err(c, "cannot create %s: %s", path, strerror(errno));
        return CLI_EXIT_IO;
    }
    int rc = CLI_OK;
    if (fchmod(fd, 0600) != 0 || cli_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        cli_err(c, "cannot write %s: %s", path, strerror(errno));
        rc = CLI_EXIT_IO;
    }
    if (close(fd) != 0 && rc == CLI_OK) {
        cli_err(c, "cannot write %s: %s", path, strerror(errno));
        rc = CLI_EXIT_IO;
    }
    if (rc != CLI_OK)
        (void)unlink(path);
    return rc;
}

int cli_write_replace(const cli *c, const char *path, const char *data, size_t len)
{
    char tmp[4200];
    uint8_t rnd[8];
    char hex[17];
    randombytes_buf(rnd, sizeof rnd);
    cli_hex(rnd, sizeof rnd, hex);
    int n = snprintf(tmp, sizeof tmp, "%s.tmp-%s", path, hex);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        cli_err(c, "path too long: %s", path);
        return CLI_EXIT_USAGE;
    }
    int rc = cli_write_new_file(c, tmp, data, len);
    if (rc != CLI_OK)
        return rc;
    if (rename(tmp, path) != 0) {
        cli_err(c, "cannot replace %s: %s", path, strerror(errno));
        (void)unlink(tmp);
        return CLI_EXIT_IO;
    }
    return CLI_OK;
}
