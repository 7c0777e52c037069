/* SPDX-License-Identifier: ISC */
/* A host that keeps keystores in its own storage (esession_host_ops
 * store_load / store_save): only ciphertext reaches it, failures change
 * nothing, and nothing touches the file system. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esession.h"
#include "../common/vecfile.h"

/* One-slot storage in memory. */
typedef struct mem_store {
    char name[64];
    uint8_t *data;
    size_t len;
    int fail_save, fail_load, saves;
} mem_store;

static int mem_load(void *user, const char *name, uint8_t **data, size_t *len)
{
    mem_store *m = user;
    if (m->fail_load)
        return -1;
    if (m->data == NULL || strcmp(m->name, name) != 0)
        return 1;
    *data = malloc(m->len);
    if (*data == NULL)
        return -1;
    memcpy(*data, m->data, m->len);
    *len = m->len;
    return 0;
}

static int mem_save(void *user, const char *name, const uint8_t *data, size_t len, int create)
{
    mem_store *m = user;
    if (m->fail_save || (create && m->data != NULL) || strlen(name) >= sizeof m->name)
        return -1;
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return -1;
    memcpy(copy, data, len);
    free(m->data);
    m->data = copy;
    m->len = len;
    strcpy(m->name, name);
    m->saves++;
    return 0;
}

static const esession_host_ops mem_ops = {.store_load = mem_load, .store_save = mem_save};

static esession_ctx *ctx_for(mem_store *m)
{
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    o.ops = &mem_ops;
    o.user = m;
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    return ctx;
}

static int contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

Test(hoststore, keystores_live_in_the_hosts_storage)
{
    mem_store m;
    memset(&m, 0, sizeof m);
    esession_ctx *ctx = ctx_for(&m);
    esession_keystore_options ko = ESESSION_KEYSTORE_OPTIONS_INIT;
    ko.kdf_opslimit = 1;
    ko.kdf_memlimit = 8192;
    const char *name = "account-alice"; /* not a file: nothing on disk */
    esession_keystore *ks = NULL;
    cr_assert_eq(esession_keystore_create(ctx, &ks, name, "pw", 2, &ko), ESESSION_OK, "%s",
                 esession_ctx_error_detail(ctx));
    cr_assert_eq(access(name, F_OK), -1);
    cr_assert_eq(m.saves, 1);

    char *pem = vec_read_file("tests/data/vec_rsa_bob.pem", NULL);
    esession_key *key = NULL;
    cr_assert_eq(esession_key_from_pem(ctx, &key, pem, strlen(pem)), ESESSION_OK);
    unsigned alerts = 0;
    cr_assert_eq(esession_keystore_add_key(ks, key), ESESSION_OK);
    cr_assert_eq(esession_trust_add(ks, "carol@example.net", key, "Carol", &alerts), ESESSION_OK);
    cr_assert_eq(m.saves, 3);
    /* Only ciphertext reaches the host. */
    cr_assert_not(contains(m.data, m.len, "carol@example.net"));
    cr_assert_not(contains(m.data, m.len, "Carol"));

    /* A failed save changes nothing, in memory or in storage. */
    uint8_t *before = malloc(m.len);
    size_t before_len = m.len;
    memcpy(before, m.data, m.len);
    m.fail_save = 1;
    cr_assert_eq(esession_trust_remove(ks, "carol@example.net", (uint8_t[32]){0}),
                 ESESSION_ERR_UNTRUSTED_KEY);
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    cr_assert_eq(esession_key_fingerprint(ctx, key, fp), ESESSION_OK);
    cr_assert_eq(esession_trust_remove(ks, "carol@example.net", fp), ESESSION_ERR_IO);
    cr_assert_eq(esession_trust_count(ks), 1);
    cr_assert_eq(m.len, before_len);
    cr_assert_eq(memcmp(m.data, before, before_len), 0);
    m.fail_save = 0;
    esession_keystore_close(ks);

    /* Open it again from the host; a second create under the name fails. */
    cr_assert_eq(esession_keystore_open(ctx, &ks, name, "pw", 2), ESESSION_OK);
    cr_assert_eq(esession_keystore_key_count(ks), 1);
    cr_assert_eq(esession_trust_count(ks), 1);
    esession_keystore_close(ks);
    esession_keystore *again = NULL;
    cr_assert_eq(esession_keystore_create(ctx, &again, name, "pw", 2, &ko), ESESSION_ERR_IO);
    cr_assert_null(again);
    cr_assert_eq(esession_keystore_open(ctx, &ks, name, "wrong", 5), ESESSION_ERR_BAD_PASSPHRASE);
    cr_assert_eq(esession_keystore_open(ctx, &ks, "no-such-account", "pw", 2), ESESSION_ERR_IO);
    m.fail_load = 1;
    cr_assert_eq(esession_keystore_open(ctx, &ks, name, "pw", 2), ESESSION_ERR_IO);

    free(before);
    free(pem);
    esession_key_free(key);
    free(m.data);
    esession_ctx_free(ctx);
}
