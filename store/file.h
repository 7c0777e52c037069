/* SPDX-License-Identifier: ISC */
/* Files for the keystore: path checks, bounded reads, and syncing (the
 * conversion of the earlier format). */
#ifndef ESESSION_STORE_FILE_H
#define ESESSION_STORE_FILE_H

#include "../core/core.h"

/* Longest path accepted. */
#define ES_FILE_PATH_MAX 4000u

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

/* fsync a file; fsync the directory holding path (errors ignored: the
 * rename it makes durable has happened, and some file systems cannot). */
esession_status es_file_sync(esession_ctx *ctx, const char *path);
void es_file_sync_dir(const char *path);

#endif
