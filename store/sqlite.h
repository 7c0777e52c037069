/* SPDX-License-Identifier: ISC */
/* The default record storage (SQLite 3), behind the same operations a
 * host may supply (esession_store_ops). */
#ifndef ESESSION_STORE_SQLITE_H
#define ESESSION_STORE_SQLITE_H

#include <esession.h>

extern const esession_store_ops es_sqlite_ops;

/* Remove a database and its journal files (a creation that failed). */
void es_sqlite_remove(const char *path);

#endif
