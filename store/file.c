/* SPDX-License-Identifier: ISC */
/* Files for the keystore: path checks, bounded reads, syncing. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_TAG_LEN (sizeof ES_FILE_TMP_TAG - 1)
#define TMP_TRIES 8

static esession_status io_fail(esession_ctx *ctx, const char *what, int err)
{
    char msg[128];
    if (strerror_r(err, msg, sizeof msg) != 0)
        msg[0] = '\0';
    return es_fail(ctx, ESESSION_ERR_IO, "%s: %s", what, msg);
}

esession_status es_file_check_path(esession_ctx *ctx, const char *path)
{
    if (path == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL path");
    size_t n = strnlen(path, ES_FILE_PATH_MAX + 1);
    if (n == 0 || path[n - 1] == '/')
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "path names no file");
    if (n > ES_FILE_PATH_MAX)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "path longer than %u octets",
                       ES_FILE_PATH_MAX);
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "path names no file");
    return ESESSION_OK;
}

int es_file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The directory holding path's last component (malloc'ed). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

esession_status es_file_read(esession_ctx *ctx, const char *path, size_t max,
                             uint8_t **out, size_t *out_len)
{
    struct stat st;
    esession_status rc = ESESSION_OK;
    uint8_t *buf = NULL;
    size_t got = 0;

    /* O_NONBLOCK: a FIFO in the keystore's place must not hang us. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return io_fail(ctx, "cannot open the keystore", errno);
    if (fstat(fd, &st) != 0) {
        rc = io_fail(ctx, "cannot stat the keystore", errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = es_fail(ctx, ESESSION_ERR_IO, "the keystore is not a regular file");
        goto out;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
        rc = es_fail(ctx, ESESSION_ERR_CORRUPT, "file too large for a keystore");
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = malloc(size + 1);
    if (buf == NULL) {
        rc = es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    /* Read one octet more than stat promised to notice a growing file. */
    while (got <= size) {
        ssize_t r = read(fd, buf + got, size + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = io_fail(ctx, "cannot read the keystore", errno);
            goto out;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    if (got != size) {
        rc = es_fail(ctx, ESESSION_ERR_IO, "the keystore changed while being read");
        goto out;
    }
    *out = buf;
    *out_len = size;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

/* Make a completed rename durable. Errors are not reported: the name
 * already points at the complete new file, and some file systems cannot
 * sync a directory at all. */
void es_file_sync_dir(const char *path)
{
    char *dir = dir_of(path);
    if (dir == NULL)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return;
    (void)fsync(fd);
    close(fd);
}

esession_status es_file_sync(esession_ctx *ctx, const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return io_fail(ctx, "cannot open for sync", errno);
    int err = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return err == 0 ? ESESSION_OK : io_fail(ctx, "cannot sync", err);
}
