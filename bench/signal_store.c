/* SPDX-License-Identifier: ISC */
/* In-memory stores of one libsignal account: its identity key pair and
 * registration id, pre-keys and signed pre-keys by id, sessions by
 * (name, device). Every peer it meets is trusted (the bench compares
 * cost, not trust decisions). */
#include "bench.h"
#include "signal_glue.h"

#include <key_helper.h>
#include <ratchet.h>

#include <stdlib.h>
#include <string.h>

#define SLOTS 64u

typedef struct slot {
    int used;
    char name[64];
    int32_t device; /* sessions; the id for keys */
    signal_buffer *data;
} slot;

struct bench_signal_account {
    signal_protocol_store_context *stores;
    ratchet_identity_key_pair *identity;
    uint32_t registration;
    slot sessions[SLOTS], pre_keys[SLOTS], signed_pre_keys[SLOTS];
};

static slot *find(slot *v, const char *name, size_t name_len, int32_t device)
{
    for (size_t i = 0; i < SLOTS; i++)
        if (v[i].used && v[i].device == device && strlen(v[i].name) == name_len &&
            memcmp(v[i].name, name, name_len) == 0)
            return &v[i];
    return NULL;
}

static int put(slot *v, const char *name, size_t name_len, int32_t device, const uint8_t *data,
               size_t len)
{
    slot *s = find(v, name, name_len, device);
    for (size_t i = 0; s == NULL && i < SLOTS; i++)
        if (!v[i].used)
            s = &v[i];
    if (s == NULL || name_len >= sizeof s->name)
        return SG_ERR_NOMEM;
    signal_buffer *copy = signal_buffer_create(data, len);
    if (copy == NULL)
        return SG_ERR_NOMEM;
    signal_buffer_free(s->data);
    s->used = 1;
    memcpy(s->name, name, name_len);
    s->name[name_len] = '\0';
    s->device = device;
    s->data = copy;
    return 0;
}

static void drop(slot *s)
{
    if (s == NULL)
        return;
    signal_buffer_free(s->data);
    memset(s, 0, sizeof *s);
}

/* ---- sessions ---------------------------------------------------------- */

static int load_session(signal_buffer **record, signal_buffer **user_record,
                        const signal_protocol_address *a, void *user)
{
    bench_signal_account *acc = user;
    slot *s = find(acc->sessions, a->name, a->name_len, a->device_id);
    *user_record = NULL;
    if (s == NULL)
        return 0;
    *record = signal_buffer_copy(s->data);
    return *record != NULL ? 1 : SG_ERR_NOMEM;
}

static int sub_devices(signal_int_list **out, const char *name, size_t name_len, void *user)
{
    bench_signal_account *acc = user;
    signal_int_list *l = signal_int_list_alloc();
    if (l == NULL)
        return SG_ERR_NOMEM;
    for (size_t i = 0; i < SLOTS; i++) {
        const slot *s = &acc->sessions[i];
        if (s->used && strlen(s->name) == name_len && memcmp(s->name, name, name_len) == 0)
            signal_int_list_push_back(l, s->device);
    }
    *out = l;
    return (int)signal_int_list_size(l);
}

static int store_session(const signal_protocol_address *a, uint8_t *record, size_t len,
                         uint8_t *user_record, size_t user_len, void *user)
{
    bench_signal_account *acc = user;
    (void)user_record;
    (void)user_len;
    return put(acc->sessions, a->name, a->name_len, a->device_id, record, len);
}

static int contains_session(const signal_protocol_address *a, void *user)
{
    bench_signal_account *acc = user;
    return find(acc->sessions, a->name, a->name_len, a->device_id) != NULL;
}

static int delete_session(const signal_protocol_address *a, void *user)
{
    bench_signal_account *acc = user;
    slot *s = find(acc->sessions, a->name, a->name_len, a->device_id);
    drop(s);
    return s != NULL;
}

static int delete_all_sessions(const char *name, size_t name_len, void *user)
{
    bench_signal_account *acc = user;
    int n = 0;
    for (size_t i = 0; i < SLOTS; i++) {
        slot *s = &acc->sessions[i];
        if (s->used && strlen(s->name) == name_len && memcmp(s->name, name, name_len) == 0) {
            drop(s);
            n++;
        }
    }
    return n;
}

/* ---- pre-keys and signed pre-keys (by id, name "") -------------------- */

static int load_key(slot *v, signal_buffer **record, uint32_t id)
{
    slot *s = find(v, "", 0, (int32_t)id);
    if (s == NULL)
        return SG_ERR_INVALID_KEY_ID;
    *record = signal_buffer_copy(s->data);
    return *record != NULL ? 0 : SG_ERR_NOMEM;
}

static int load_pre_key(signal_buffer **record, uint32_t id, void *user)
{
    return load_key(((bench_signal_account *)user)->pre_keys, record, id);
}

static int store_pre_key(uint32_t id, uint8_t *record, size_t len, void *user)
{
    return put(((bench_signal_account *)user)->pre_keys, "", 0, (int32_t)id, record, len);
}

static int contains_pre_key(uint32_t id, void *user)
{
    return find(((bench_signal_account *)user)->pre_keys, "", 0, (int32_t)id) != NULL;
}

static int remove_pre_key(uint32_t id, void *user)
{
    drop(find(((bench_signal_account *)user)->pre_keys, "", 0, (int32_t)id));
    return 0;
}

static int load_signed(signal_buffer **record, uint32_t id, void *user)
{
    return load_key(((bench_signal_account *)user)->signed_pre_keys, record, id);
}

static int store_signed(uint32_t id, uint8_t *record, size_t len, void *user)
{
    return put(((bench_signal_account *)user)->signed_pre_keys, "", 0, (int32_t)id, record, len);
}

static int contains_signed(uint32_t id, void *user)
{
    return find(((bench_signal_account *)user)->signed_pre_keys, "", 0, (int32_t)id) != NULL;
}

static int remove_signed(uint32_t id, void *user)
{
    drop(find(((bench_signal_account *)user)->signed_pre_keys, "", 0, (int32_t)id));
    return 0;
}

/* ---- identity ---------------------------------------------------------- */

static int identity_pair(signal_buffer **pub, signal_buffer **priv, void *user)
{
    bench_signal_account *acc = user;
    int rc = ec_public_key_serialize(pub, ratchet_identity_key_pair_get_public(acc->identity));
    if (rc == 0)
        rc = ec_private_key_serialize(priv, ratchet_identity_key_pair_get_private(acc->identity));
    return rc;
}

static int registration_id(void *user, uint32_t *id)
{
    *id = ((bench_signal_account *)user)->registration;
    return 0;
}

static int save_identity(const signal_protocol_address *a, uint8_t *key, size_t len, void *user)
{
    (void)a;
    (void)key;
    (void)len;
    (void)user;
    return 0;
}

static int is_trusted(const signal_protocol_address *a, uint8_t *key, size_t len, void *user)
{
    (void)a;
    (void)key;
    (void)len;
    (void)user;
    return 1;
}

bench_signal_account *bench_signal_account_new(signal_context *gc, uint32_t registration)
{
    bench_signal_account *acc = calloc(1, sizeof *acc);
    if (acc == NULL)
        bench_fail("out of memory");
    acc->registration = registration;
    signal_protocol_session_store ss = {
        .load_session_func = load_session,
        .get_sub_device_sessions_func = sub_devices,
        .store_session_func = store_session,
        .contains_session_func = contains_session,
        .delete_session_func = delete_session,
        .delete_all_sessions_func = delete_all_sessions,
        .user_data = acc,
    };
    signal_protocol_pre_key_store pk = {
        .load_pre_key = load_pre_key,
        .store_pre_key = store_pre_key,
        .contains_pre_key = contains_pre_key,
        .remove_pre_key = remove_pre_key,
        .user_data = acc,
    };
    signal_protocol_signed_pre_key_store sk = {
        .load_signed_pre_key = load_signed,
        .store_signed_pre_key = store_signed,
        .contains_signed_pre_key = contains_signed,
        .remove_signed_pre_key = remove_signed,
        .user_data = acc,
    };
    signal_protocol_identity_key_store ik = {
        .get_identity_key_pair = identity_pair,
        .get_local_registration_id = registration_id,
        .save_identity = save_identity,
        .is_trusted_identity = is_trusted,
        .user_data = acc,
    };
    if (signal_protocol_key_helper_generate_identity_key_pair(&acc->identity, gc) != 0 ||
        signal_protocol_store_context_create(&acc->stores, gc) != 0 ||
        signal_protocol_store_context_set_session_store(acc->stores, &ss) != 0 ||
        signal_protocol_store_context_set_pre_key_store(acc->stores, &pk) != 0 ||
        signal_protocol_store_context_set_signed_pre_key_store(acc->stores, &sk) != 0 ||
        signal_protocol_store_context_set_identity_key_store(acc->stores, &ik) != 0)
        bench_fail("libsignal: cannot set up an account");
    return acc;
}

void bench_signal_forget_sessions(bench_signal_account *a)
{
    for (size_t i = 0; i < SLOTS; i++)
        drop(&a->sessions[i]);
}

void bench_signal_account_free(bench_signal_account *a)
{
    if (a == NULL)
        return;
    signal_protocol_store_context_destroy(a->stores);
    for (size_t i = 0; i < SLOTS; i++) {
        drop(&a->sessions[i]);
        drop(&a->pre_keys[i]);
        drop(&a->signed_pre_keys[i]);
    }
    SIGNAL_UNREF(a->identity);
    free(a);
}

signal_protocol_store_context *bench_signal_stores(bench_signal_account *a)
{
    return a->stores;
}

ratchet_identity_key_pair *bench_signal_identity(bench_signal_account *a)
{
    return a->identity;
}

uint32_t bench_signal_registration(bench_signal_account *a)
{
    return a->registration;
}
