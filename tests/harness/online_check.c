/* SPDX-License-Identifier: ISC */
/* Online vectors: the values a role computed, compared with `expected`.
 * Each value is checked on the role that computes it (formA on Alice,
 * formB on Bob, ...); values both compute (K, keys) are checked on the
 * other role too once its negotiation completed, when they must agree. */
#include "online_vec.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "../../crypto/base64.h"

void ohv_differs(ohv_diffs *d, const char *fmt, ...)
{
    size_t n = strlen(d->text);
    va_list ap;
    d->n++;
    if (n + 8 >= sizeof d->text)
        return;
    if (n > 0) {
        memcpy(d->text + n, ", ", 3);
        n += 2;
    }
    va_start(ap, fmt);
    vsnprintf(d->text + n, sizeof d->text - n, fmt, ap);
    va_end(ap);
}

void ohv_cmp_hex(ohv_diffs *d, const char *what, json_t *obj, const char *key,
                 const uint8_t *v, size_t n)
{
    size_t len = 0;
    uint8_t *want = obj != NULL ? ju_hex(obj, key, &len) : NULL;
    if (want == NULL)
        ohv_differs(d, "%s%s (absent from the file)", what, key);
    else if (len != n || (n > 0 && memcmp(want, v, n) != 0))
        ohv_differs(d, "%s%s", what, key);
    free(want);
}

void ohv_cmp_text(ohv_diffs *d, const char *what, json_t *obj, const char *key, const char *v,
                  size_t n)
{
    const char *want = obj != NULL ? ju_string(obj, key) : NULL;
    if (want == NULL)
        ohv_differs(d, "%s%s (absent from the file)", what, key);
    else if (strlen(want) != n || memcmp(want, v, n) != 0)
        ohv_differs(d, "%s%s", what, key);
}

/* m_final: the decoded <data> of a stanza (empty if none). */
static uint8_t *ohv_m_final_of(const char *stanza, size_t *len)
{
    const char *a = strstr(stanza, "<data>"), *b = a != NULL ? strstr(a, "</data>") : NULL;
    *len = 0;
    if (a == NULL || b == NULL)
        return calloc(1, 1);
    a += strlen("<data>");
    size_t n = (size_t)(b - a);
    uint8_t *out = malloc(es_base64_decoded_max(n) + 1);
    if (out != NULL &&
        es_base64_decode(out, es_base64_decoded_max(n) + 1, len, a, n) != ESESSION_OK) {
        free(out);
        return NULL;
    }
    return out;
}

static void ohv_cmp_pair(ohv_diffs *d, const char *what, json_t *rec, const char *key,
                     const es_dir_keys *k)
{
    json_t *a = ju_array(rec, key);
    json_t *wrap = a != NULL && json_array_size(a) == 2
                       ? json_pack("{sOsO}", "kc", json_array_get(a, 0), "km", json_array_get(a, 1))
                       : NULL;
    if (wrap == NULL) {
        ohv_differs(d, "%s%s (absent)", what, key);
        return;
    }
    char w[96];
    snprintf(w, sizeof w, "%s%s.", what, key);
    ohv_cmp_hex(d, w, wrap, "kc", k->kc, k->kc_len);
    ohv_cmp_hex(d, w, wrap, "km", k->km, k->km_len);
    json_decref(wrap);
}

void ohv_check_c(ohv_diffs *d, const char *what, json_t *crec, const es_ol_ctrace *t,
                 const char *stanza)
{
    char w[96];
    snprintf(w, sizeof w, "%s c.", what);
    if (crec == NULL) {
        ohv_differs(d, "%s (no c record in the file)", w);
        return;
    }
    ohv_cmp_hex(d, w, crec, "counterBefore", t->counter_before, ES_AES_BLOCK);
    ohv_cmp_hex(d, w, crec, "kc", t->keys.kc, t->keys.kc_len);
    ohv_cmp_hex(d, w, crec, "km", t->keys.km, t->keys.km_len);
    ohv_cmp_hex(d, w, crec, "aMac", t->a_mac, t->mac_len);
    long long nw = -1;
    if (ju_integer(crec, "new", &nw) != 0 || nw != (long long)t->new_count)
        ohv_differs(d, "%snew", w);
    size_t n = 0;
    uint8_t *mf = ohv_m_final_of(stanza, &n);
    if (json_object_get(crec, "mFinal") != NULL || n > 0) {
        if (mf == NULL)
            ohv_differs(d, "%smFinal (bad base64)", w);
        else
            ohv_cmp_hex(d, w, crec, "mFinal", mf, n);
    }
    free(mf);
    int want_rekey = json_object_get(crec, "z") != NULL;
    if (want_rekey != t->rekeyed) {
        ohv_differs(d, "%sre-key", w);
        return;
    }
    if (!t->rekeyed)
        return;
    ohv_cmp_hex(d, w, crec, "z", (const uint8_t *)t->z.data, t->z.len);
    ohv_cmp_hex(d, w, crec, "Z", (const uint8_t *)t->z_pub.data, t->z_pub.len);
    ohv_cmp_hex(d, w, crec, "KPrime", (const uint8_t *)t->k_prime.data, t->k_prime.len);
    ohv_cmp_pair(d, w, crec, "sendKeysAfter", &t->send_after);
    ohv_cmp_pair(d, w, crec, "newSetKeys", &t->new_set);
}

void ohv_check_rs(ohv_diffs *d, const char *what, json_t *want, const char *peer_bare,
                  const es_ol_rs_list *l)
{
    json_t *list = want != NULL ? ju_array(want, peer_bare) : NULL;
    size_t n = list != NULL ? json_array_size(list) : 0;
    if (n != l->n) {
        ohv_differs(d, "%s (%zu entries, the file %zu)", what, l->n, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        char w[96];
        snprintf(w, sizeof w, "%s[%zu].", what, i);
        ohv_cmp_hex(d, w, e, "rs", l->v[i].rs, l->v[i].len);
        ohv_cmp_text(d, w, e, "client", l->v[i].client, strlen(l->v[i].client));
        if (json_is_true(json_object_get(e, "verified")) != (l->v[i].verified != 0))
            ohv_differs(d, "%sverified", w);
    }
}

static void ohv_cmp_keys(ohv_diffs *d, json_t *obj, const es_session_keys *k, int with_ks_a,
                     int with_ks_b)
{
    if (obj == NULL) {
        ohv_differs(d, "keys (absent from the file)");
        return;
    }
    ohv_cmp_hex(d, "", obj, "KC_A", k->a.kc, k->a.kc_len);
    ohv_cmp_hex(d, "", obj, "KM_A", k->a.km, k->a.km_len);
    if (with_ks_a)
        ohv_cmp_hex(d, "", obj, "KS_A", k->ks_a, k->k_len);
    if (with_ks_b) {
        ohv_cmp_hex(d, "", obj, "KC_B", k->b.kc, k->b.kc_len);
        ohv_cmp_hex(d, "", obj, "KM_B", k->b.km, k->b.km_len);
        ohv_cmp_hex(d, "", obj, "KS_B", k->ks_b, k->k_len);
    }
}

static void ohv_cmp_chosen(ohv_diffs *d, json_t *chosen, const es_ol_choice *c, int variant)
{
    if (chosen == NULL) {
        ohv_differs(d, "chosen (absent from the file)");
        return;
    }
    for (size_t i = 0; i < ES_OLF_COUNT; i++) {
        if (i == ES_OLF_SAS && variant == 3)
            continue;
        const char *want = ju_string(chosen, es_ol_field_names[i]);
        if (want == NULL || strcmp(want, c->value[i]) != 0)
            ohv_differs(d, "chosen.%s", es_ol_field_names[i]);
    }
    char f[16];
    snprintf(f, sizeof f, "%lu", (unsigned long)c->rekey_freq);
    const char *want = ju_string(chosen, "rekey_freq");
    if (want == NULL || strcmp(want, f) != 0)
        ohv_differs(d, "chosen.rekey_freq");
}

/* The value is in the file exactly when the trace has it. */
static int present(ohv_diffs *d, json_t *exp, const char *key, int have)
{
    int in_file = json_object_get(exp, key) != NULL;
    if (in_file && !have)
        ohv_differs(d, "%s (not computed)", key);
    else if (!in_file && have)
        ohv_differs(d, "%s (computed, absent from the file)", key);
    return in_file && have;
}

static void alice_values(ohv_diffs *d, json_t *exp, const es_ol_trace *t, int variant,
                         const ohv_flags *fl)
{
    ohv_cmp_text(d, "", exp, "formA", t->form_a.data, t->form_a.len);
    json_t *e = ju_object(exp, "e"), *he = ju_object(exp, "He");
    for (size_t i = 0; i < t->n_e; i++) {
        char g[16];
        snprintf(g, sizeof g, "%d", t->groups[i]);
        ohv_cmp_hex(d, "e.", e, g, (const uint8_t *)t->e[i].data, t->e[i].len);
        if (variant == 4)
            ohv_cmp_hex(d, "He.", he, g, t->he[i], ES_OL_HE_BYTES);
    }
    if (present(d, exp, "K0", t->has_k0))
        ohv_cmp_hex(d, "", exp, "K0", t->k0, t->k_len);
    if (variant == 4 && present(d, exp, "keysProvisory", t->has_prov)) {
        json_t *p = ju_object(exp, "keysProvisory");
        ohv_cmp_hex(d, "prov.", p, "KC_A", t->prov.a.kc, t->prov.a.kc_len);
        ohv_cmp_hex(d, "prov.", p, "KM_A", t->prov.a.km, t->prov.a.km_len);
        ohv_cmp_hex(d, "prov.", p, "KS_A", t->prov.ks_a, t->prov.k_len);
    }
    if (present(d, exp, "formA2", t->form_a2.data != NULL))
        ohv_cmp_text(d, "", exp, "formA2", t->form_a2.data, t->form_a2.len);
    if (present(d, exp, "macA", t->has_mac_a)) {
        ohv_cmp_hex(d, "", exp, "macA", t->mac_a, t->k_len);
        if (!fl->ma_wire)
            ohv_cmp_hex(d, "", exp, "MA", t->ma, t->k_len);
        if (!fl->ida_wire)
            ohv_cmp_hex(d, "", exp, "IDA", (const uint8_t *)t->ida.data, t->ida.len);
    }
    if (variant == 4 && present(d, exp, "rshashes", t->n_rshashes > 0)) {
        json_t *a = ju_array(exp, "rshashes");
        if (json_array_size(a) != t->n_rshashes)
            ohv_differs(d, "rshashes count");
        for (size_t i = 0; i < t->n_rshashes && i < json_array_size(a); i++) {
            json_t *w = json_pack("{sO}", "v", json_array_get(a, i));
            char what[32];
            snprintf(what, sizeof what, "rshashes[%zu].", i);
            ohv_cmp_hex(d, what, w, "v", t->rshashes[i], t->k_len);
            json_decref(w);
        }
    }
    if (variant == 4 && present(d, exp, "sas", t->has_sas)) {
        json_t *sas = ju_object(exp, "sas");
        long long v = -1;
        uint8_t oct[3] = {(uint8_t)(t->sas_v >> 16), (uint8_t)(t->sas_v >> 8), (uint8_t)t->sas_v};
        ohv_cmp_hex(d, "sas.", sas, "octets", oct, 3);
        if (ju_integer(sas, "v", &v) != 0 || v != (long long)t->sas_v)
            ohv_differs(d, "sas.v");
        ohv_cmp_text(d, "sas.", sas, "string", t->sas, strlen(t->sas));
    }
    if (variant == 4 && present(d, exp, "newRSAlice", t->has_new_rs))
        ohv_cmp_hex(d, "", exp, "newRSAlice", t->new_rs, t->k_len);
    if (fl->established && t->has_k) {
        ohv_cmp_hex(d, "", exp, "K", t->k, t->k_len);
        ohv_cmp_keys(d, ju_object(exp, "keys"), &t->keys, variant == 3, 1);
    }
}

static void bob_values(ohv_diffs *d, json_t *exp, const es_ol_trace *t, int variant,
                       const ohv_flags *fl)
{
    if (present(d, exp, "chosen", t->has_choice))
        ohv_cmp_chosen(d, ju_object(exp, "chosen"), &t->choice, variant);
    if (present(d, exp, "formB", t->form_b.data != NULL))
        ohv_cmp_text(d, "", exp, "formB", t->form_b.data, t->form_b.len);
    if (present(d, exp, "d", t->d.data != NULL))
        ohv_cmp_hex(d, "", exp, "d", (const uint8_t *)t->d.data, t->d.len);
    if (present(d, exp, "C_A", t->has_ca)) {
        ohv_cmp_hex(d, "", exp, "C_A", t->c_a, ES_AES_BLOCK);
        ohv_cmp_hex(d, "", exp, "C_B", t->c_b, ES_AES_BLOCK);
    }
    if (present(d, exp, "K", t->has_k)) {
        ohv_cmp_hex(d, "", exp, "K", t->k, t->k_len);
        ohv_cmp_keys(d, ju_object(exp, "keys"), &t->keys, variant == 3, 1);
    }
    if (present(d, exp, "macB", t->has_mac_b)) {
        ohv_cmp_hex(d, "", exp, "macB", t->mac_b, t->k_len);
        if (!fl->mb_wire)
            ohv_cmp_hex(d, "", exp, "MB", t->mb, t->k_len);
        if (!fl->idb_wire)
            ohv_cmp_hex(d, "", exp, "IDB", (const uint8_t *)t->idb.data, t->idb.len);
    }
    if (variant == 4) {
        if (present(d, exp, "formB2", t->form_b2.data != NULL))
            ohv_cmp_text(d, "", exp, "formB2", t->form_b2.data, t->form_b2.len);
        if (present(d, exp, "srshash", t->has_srshash))
            ohv_cmp_hex(d, "", exp, "srshash", t->srshash, t->k_len);
        if (present(d, exp, "sasBob", t->has_sas)) {
            const char *want = ju_string(exp, "sasBob");
            if (want == NULL || strcmp(want, t->sas) != 0)
                ohv_differs(d, "sasBob");
        }
        if (present(d, exp, "newRS", t->has_new_rs))
            ohv_cmp_hex(d, "", exp, "newRS", t->new_rs, t->k_len);
        if (fl->established && t->has_k0) {
            ohv_cmp_hex(d, "", exp, "K0", t->k0, t->k_len);
            json_t *p = ju_object(exp, "keysProvisory");
            ohv_cmp_hex(d, "prov.", p, "KC_A", t->prov.a.kc, t->prov.a.kc_len);
            ohv_cmp_hex(d, "prov.", p, "KM_A", t->prov.a.km, t->prov.a.km_len);
            ohv_cmp_hex(d, "prov.", p, "KS_A", t->prov.ks_a, t->prov.k_len);
        }
    }
}

void ohv_check_trace(ohv_diffs *d, json_t *exp, const es_ol *s, int live_is_alice, int variant,
                     const ohv_flags *fl, const char *peer_bare)
{
    const es_ol_trace *t = es_ol_get_trace(s);
    if (t == NULL) {
        ohv_differs(d, "no trace");
        return;
    }
    if (live_is_alice)
        alice_values(d, exp, t, variant, fl);
    else
        bob_values(d, exp, t, variant, fl);
    /* SRS as this role found it. */
    json_t *srs = ju_object(exp, "SRS");
    const char *me = live_is_alice ? "alice" : "bob";
    json_t *mine = srs != NULL ? json_object_get(srs, me) : NULL;
    if (mine != NULL && t->srs_reached) {
        if (json_is_null(mine) != !t->has_srs)
            ohv_differs(d, "SRS.%s (found or not)", me);
        else if (t->has_srs) {
            json_t *w = json_pack("{sO}", "v", mine);
            ohv_cmp_hex(d, "SRS.", w, "v", t->srs, t->k_len);
            json_decref(w);
        }
    } else if ((mine != NULL) != (t->srs_reached != 0)) {
        ohv_differs(d, "SRS.%s (%s)", me, t->srs_reached ? "computed, absent from the file"
                                                         : "not computed");
    }
    if (!live_is_alice && variant == 4) {
        json_t *after = json_object_get(exp, "retainedBobAfterMsg3");
        if (after != NULL || t->has_rs_after_msg3) {
            if (after == NULL || !t->has_rs_after_msg3)
                ohv_differs(d, "retainedBobAfterMsg3 (present on one side only)");
            else
                ohv_check_rs(d, "retainedBobAfterMsg3", after, peer_bare, &t->rs_after_msg3);
        }
    }
}
