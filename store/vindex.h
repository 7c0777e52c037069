/* SPDX-License-Identifier: ISC */
/* The version index (vindex.c): every record's kind, id and version,
 * under the generation record, so that a record deleted, rolled back to an
 * older copy of itself or brought in from elsewhere is refused. Records of
 * kind ES_REC_META are not indexed (the index itself, the generations, the
 * header). Index records read or written are kept with the handle between
 * transactions, checked against the generation record at each begin. */
#ifndef ESESSION_STORE_VINDEX_H
#define ESESSION_STORE_VINDEX_H

#include "ks.h"

/* present: the record was read at version (else: found absent). A record
 * the index does not know, one it knows at another version, or one it
 * knows that is missing: ESESSION_ERR_CORRUPT. */
esession_status es_vidx_check(esession_keystore *ks, es_rec_kind kind, const uint8_t *id,
                              int present, uint64_t version);
/* The record was written at version (present) or removed. */
esession_status es_vidx_set(esession_keystore *ks, es_rec_kind kind, const uint8_t *id,
                            int present, uint64_t version);
/* The recent list from a generation record (len octets of entries, read
 * after ks->total), and into one (at most ES_VIDX_RECENT entries): the
 * octets written. */
esession_status es_vidx_recent_read(esession_keystore *ks, const uint8_t *p, size_t len);
size_t es_vidx_recent_write(const esession_keystore *ks, uint8_t *out);
/* Write the changed index records at version and update ks->vroot. */
esession_status es_vidx_flush(esession_keystore *ks, uint64_t version);
/* Drop what was loaded (a transaction rolled back). */
void es_vidx_forget(esession_keystore *ks);
/* A transaction committed (or wrote nothing): keep what it loaded, unless
 * that is more than the cache holds. */
void es_vidx_keep(esession_keystore *ks);
/* A transaction began (ks->vroot just read): let go of every cached node
 * its parent no longer names at the version it was read at. */
void es_vidx_revalidate(esession_keystore *ks);
void es_vidx_free(esession_keystore *ks);

#endif
