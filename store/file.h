/* SPDX-License-Identifier: ISC */
/* Whole-file I/O for the keystore: bounded reads and atomic replacement
 * (temporary file, fsync, rename, fsync of the directory). */
#ifndef ESESSION_STORE_FILE_H
#define ESESSION_STORE_FILE_H

#include "../core/core.h"

/* Temporary files are named <path>.tmp-<16 lowercase hex digits>. */
#define ES_FILE_TMP_TAG ".tmp-"
#define ES_FILE_TMP_HEX 16u
/* Longest path accepted (leaves room for the temporary suffix). */
#define ES_FILE_PATH_MAX 4000u

/* Failure injection for tests: called once the temporary file is complete
 * and synced, just before it takes the place of the target. Non-zero fails
 * the write as an I/O error (the temporary file is removed). */
typedef struct es_file_hooks {
    int (*before_commit)(void *user, const char *tmp_path);
    void *user;
} es_file_hooks;

/* ESESSION_OK if path names a file we could write: non-empty, bounded,
 * not ending in '/', last component neither "." nor "..". */
esession_status es_file_check_path(esession_ctx *ctx, const char *path);

/* 1 if something exists at path (not following a final symlink). */
int es_file_exists(const char *path);

/* Read a regular file of at most max octets into a malloc'ed buffer.
 * Missing or unreadable: ESESSION_ERR_IO; larger than max:
 * ESESSION_ERR_CORRUPT. */
esession_status es_file_read(esession_ctx *ctx, const char *path, size_t max,
                             uint8_t **out, size_t *out_len);

/* Replace (create = 0) or create (create = 1, never over an existing
 * file: ESESSION_ERR_IO) the file at path with data, mode 0600, so that
 * after a crash path holds either the old or the new content. hooks may
 * be NULL. */
esession_status es_file_write(esession_ctx *ctx, const char *path, const uint8_t *data,
                              size_t len, int create, const es_file_hooks *hooks);

/* Remove temporary files of path left by an interrupted write. */
void es_file_remove_stale(const char *path);

#endif
