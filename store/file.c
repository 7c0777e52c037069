/* SPDX-License-Identifier: ISC */
/* Atomic whole-file replacement and bounded reads (POSIX). */
#include "file.h"

#include <dirent.h>
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

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Make a completed rename or link durable. Errors are not reported: the
 * name already points at the complete new file, and some file systems
 * cannot sync a directory at all. */
static void sync_dir(const char *path)
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

/* Create a fresh temporary file next to path; *tmp is malloc'ed. */
static esession_status open_tmp(esession_ctx *ctx, const char *path, char **tmp, int *fd)
{
    size_t plen = strlen(path);
    char *name = malloc(plen + TMP_TAG_LEN + ES_FILE_TMP_HEX + 1);
    if (name == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    memcpy(name, path, plen);
    memcpy(name + plen, ES_FILE_TMP_TAG, TMP_TAG_LEN);
    for (int i = 0; i < TMP_TRIES; i++) {
        uint8_t r[ES_FILE_TMP_HEX / 2];
        esession_status rc = es_random(ctx, r, sizeof r);
        if (rc != ESESSION_OK) {
            free(name);
            return rc;
        }
        sodium_bin2hex(name + plen + TMP_TAG_LEN, ES_FILE_TMP_HEX + 1, r, sizeof r);
        /* A stale file of an earlier crash only costs another name. */
        int f = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f >= 0) {
            *tmp = name;
            *fd = f;
            return ESESSION_OK;
        }
        if (errno != EEXIST) {
            rc = io_fail(ctx, "cannot create a temporary file", errno);
            free(name);
            return rc;
        }
    }
    free(name);
    return es_fail(ctx, ESESSION_ERR_IO, "no free temporary file name");
}

esession_status es_file_write(esession_ctx *ctx, const char *path, const uint8_t *data,
                              size_t len, int create, const es_file_hooks *hooks)
{
    char *tmp = NULL;
    int fd = -1;
    int err;
    esession_status rc = open_tmp(ctx, path, &tmp, &fd);
    if (rc != ESESSION_OK)
        return rc;

    /* The mode must be 0600 whatever the umask left. */
    if (fchmod(fd, 0600) != 0) {
        rc = io_fail(ctx, "cannot set the file mode", errno);
        goto fail;
    }
    if ((err = write_all(fd, data, len)) != 0) {
        rc = io_fail(ctx, "cannot write the keystore", err);
        goto fail;
    }
    if (fsync(fd) != 0) {
        rc = io_fail(ctx, "cannot sync the keystore", errno);
        goto fail;
    }
    err = close(fd);
    fd = -1;
    if (err != 0) {
        rc = io_fail(ctx, "cannot close the keystore", errno);
        goto fail;
    }
    if (hooks != NULL && hooks->before_commit != NULL &&
        hooks->before_commit(hooks->user, tmp) != 0) {
        rc = es_fail(ctx, ESESSION_ERR_IO, "write interrupted before commit");
        goto fail;
    }
    if (create) {
        /* link() fails if path exists: creation never replaces a file, and
         * path never holds a partly written keystore. */
        if (link(tmp, path) != 0) {
            rc = errno == EEXIST ? es_fail(ctx, ESESSION_ERR_IO, "the file already exists")
                                 : io_fail(ctx, "cannot create the keystore", errno);
            goto fail;
        }
        (void)unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        rc = io_fail(ctx, "cannot replace the keystore", errno);
        goto fail;
    }
    sync_dir(path);
    free(tmp);
    return ESESSION_OK;

fail:
    if (fd >= 0)
        close(fd);
    (void)unlink(tmp);
    free(tmp);
    return rc;
}

static int is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

void es_file_remove_stale(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t blen = strlen(base);
    char *dir = dir_of(path);
    if (dir == NULL)
        return;
    DIR *d = opendir(dir);
    free(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strlen(name) != blen + TMP_TAG_LEN + ES_FILE_TMP_HEX ||
            memcmp(name, base, blen) != 0 ||
            memcmp(name + blen, ES_FILE_TMP_TAG, TMP_TAG_LEN) != 0 ||
            !is_lower_hex(name + blen + TMP_TAG_LEN, ES_FILE_TMP_HEX))
            continue;
        (void)unlinkat(dirfd(d), name, 0);
    }
    closedir(d);
}
