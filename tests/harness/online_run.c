/* SPDX-License-Identifier: ISC */
/* Online vectors: one role of one test played against the file. The live
 * role's engine writes its stanzas (each compared with the file's, byte
 * for byte) and opens the other role's stanzas taken from the file; the
 * other role's replies are taken from `deliveries`. Stanza indices follow
 * the order in which stanzas are written, as VECTORS.md says. */
#include "online_vec.h"

#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "../../crypto/base64.h"

#define MAX_STANZAS 512
#define TOWARD_ALICE 0
#define TOWARD_BOB 1

typedef struct sim {
    esession_ctx *ctx;
    json_t *test, *exp, *stanzas, *deliveries, *error, *tamper;
    int live_alice;
    const char *live, *file;
    int variant;
    ohv_party alice, bob;
    ohv_party *me, *peer;
    es_ol *s;
    int bob_refused;          /* live Bob: msg1 refused, no session made */
    size_t idx;               /* next stanza index */
    size_t dcur;              /* next entry of deliveries */
    size_t q[2][MAX_STANZAS]; /* stanzas in flight */
    size_t qh[2], qt[2];
    int error_seen;           /* the live role's expected error happened */
    ohv_flags fl;
    ohv_diffs d;
    int broken;               /* the file and the play no longer line up */
} sim;

static json_t *stanza_at(sim *x, size_t i)
{
    return i < json_array_size(x->stanzas) ? json_array_get(x->stanzas, i) : NULL;
}

static const char *err_str(const sim *x, const char *key)
{
    return x->error != NULL ? ju_string(x->error, key) : NULL;
}

/* Does the file say that role failed at step? */
static int file_error_at(const sim *x, const char *role, const char *step)
{
    const char *r = err_str(x, "role"), *s = err_str(x, "step");
    return r != NULL && s != NULL && strcmp(r, role) == 0 && strcmp(s, step) == 0;
}

static void push(sim *x, int toward, size_t i)
{
    if (x->qt[toward] < MAX_STANZAS)
        x->q[toward][x->qt[toward]++] = i;
}

static int toward_of(const char *name)
{
    return strcmp(name, "alice") == 0 ? TOWARD_ALICE : TOWARD_BOB;
}

/* A stanza the live role wrote: index, kind, text and <c> record. */
static void check_written(sim *x, const char *kind, const char *text, const es_ol_ctrace *c)
{
    json_t *st = stanza_at(x, x->idx);
    char what[64];
    snprintf(what, sizeof what, "stanza %zu", x->idx);
    if (st == NULL) {
        ohv_differs(&x->d, "%s (written, but the file has none)", what);
        x->broken = 1;
        return;
    }
    const char *from = ju_string(st, "from"), *k = ju_string(st, "kind");
    if (from == NULL || strcmp(from, x->live) != 0 || k == NULL || strcmp(k, kind) != 0) {
        ohv_differs(&x->d, "%s (the file has a %s from %s, we wrote a %s)", what,
                    k != NULL ? k : "?", from != NULL ? from : "?", kind);
        x->broken = 1;
        return;
    }
    const char *want = ju_string(st, "stanzaXml");
    long long ti = -1;
    if (x->tamper != NULL && ju_integer(x->tamper, "stanza", &ti) == 0 && (size_t)ti == x->idx)
        want = ju_string(x->tamper, "originalXml");
    if (want == NULL)
        ohv_differs(&x->d, "%s stanzaXml (absent)", what);
    else if (strcmp(want, text) != 0)
        ohv_differs(&x->d, "%s stanzaXml", what);
    if (c != NULL)
        ohv_check_c(&x->d, what, json_object_get(st, "c"), c, text);
}

/* A stanza the file role writes now: it must be at the next index. */
static int file_writes(sim *x, size_t at)
{
    json_t *st = stanza_at(x, at);
    const char *from = st != NULL ? ju_string(st, "from") : NULL;
    if (at != x->idx || from == NULL || strcmp(from, x->file) != 0) {
        ohv_differs(&x->d, "stanza %zu (the %s's stanza is not where the file has it)", at,
                    x->file);
        x->broken = 1;
        return 0;
    }
    x->idx++;
    return 1;
}

static const char *text_of(sim *x, size_t i)
{
    json_t *st = stanza_at(x, i);
    return st != NULL ? ju_string(st, "stanzaXml") : NULL;
}

static json_t *take_entry(sim *x, size_t i, const char *to)
{
    json_t *e = x->dcur < json_array_size(x->deliveries) ? json_array_get(x->deliveries, x->dcur)
                                                          : NULL;
    long long st = -1;
    const char *t = e != NULL ? ju_string(e, "to") : NULL;
    if (e == NULL || ju_integer(e, "stanza", &st) != 0 || (size_t)st != i || t == NULL ||
        strcmp(t, to) != 0)
        return NULL;
    x->dcur++;
    return e;
}

static const char *result_name(es_ol_rkind k)
{
    switch (k) {
    case ES_OL_R_OK: return "ok";
    case ES_OL_R_DUPLICATE: return "duplicate";
    case ES_OL_R_TERMINATED: return "terminated";
    case ES_OL_R_TERMINATED_CROSSING: return "terminated-crossing";
    case ES_OL_R_ACKNOWLEDGED: return "acknowledged";
    case ES_OL_R_IGNORED: return "ignored";
    case ES_OL_R_PROGRESS: return "progress";
    case ES_OL_R_ERROR: return "error";
    }
    return "?";
}

/* The live role's failure against expected.error. */
static void check_error(sim *x, const char *step, size_t stanza, esession_status code,
                        int has_reply)
{
    long long st = -1, reply = -1;
    const char *role = err_str(x, "role"), *s = err_str(x, "step"), *c = err_str(x, "code");
    if (x->error == NULL || role == NULL || strcmp(role, x->live) != 0 || s == NULL ||
        strcmp(s, step) != 0 || ju_integer(x->error, "stanza", &st) != 0 ||
        (size_t)st != stanza || c == NULL) {
        ohv_differs(&x->d, "%s at stanza %zu: %s (the file expects no such error)", step, stanza,
                    esession_status_name(code));
        return;
    }
    if (strcmp(c, esession_status_name(code)) != 0)
        ohv_differs(&x->d, "error code %s, the file %s", esession_status_name(code), c);
    int want_reply = ju_integer(x->error, "reply", &reply) == 0;
    if (want_reply != has_reply || (has_reply && (size_t)reply != x->idx))
        ohv_differs(&x->d, "error reply %s", has_reply ? "sent" : "not sent");
    x->error_seen = 1;
}

/* A result of the live role against its deliveries entry. */
static void check_result(sim *x, size_t i, const es_ol_result *res, json_t *e)
{
    char what[48];
    snprintf(what, sizeof what, "delivery of %zu: ", i);
    if (e == NULL) {
        if (res->kind != ES_OL_R_PROGRESS)
            ohv_differs(&x->d, "%sa %s the file does not list", what, result_name(res->kind));
        return;
    }
    const char *want = ju_string(e, "result"), *err = ju_string(e, "error");
    if (res->kind == ES_OL_R_ERROR) {
        if (err == NULL || strcmp(err, esession_status_name(res->error)) != 0)
            ohv_differs(&x->d, "%serror %s, the file %s", what, esession_status_name(res->error),
                        err != NULL ? err : want != NULL ? want : "?");
        const char *cond = ju_string(e, "condition");
        if (cond != NULL && strcmp(cond, res->condition) != 0)
            ohv_differs(&x->d, "%scondition", what);
    } else if (want == NULL || strcmp(want, result_name(res->kind)) != 0) {
        ohv_differs(&x->d, "%s%s, the file %s", what, result_name(res->kind),
                    want != NULL ? want : err != NULL ? err : "?");
    }
    const char *plain = ju_string(e, "plaintextXml");
    if (plain != NULL && (!res->has_content || res->plain.len != strlen(plain) ||
                          memcmp(res->plain.data, plain, res->plain.len) != 0))
        ohv_differs(&x->d, "%splaintext", what);
    if (json_object_get(e, "counter") != NULL)
        ohv_cmp_hex(&x->d, what, e, "counter", res->counter, ES_AES_BLOCK);
    long long reply = -1;
    int want_reply = ju_integer(e, "reply", &reply) == 0;
    if (want_reply != (res->reply.data != NULL))
        ohv_differs(&x->d, "%sreply %s", what, res->reply.data != NULL ? "sent" : "not sent");
}

/* The reply of the live role goes on the wire. */
static void send_reply(sim *x, es_ol_result *res)
{
    if (res->reply.data == NULL)
        return;
    const char *kind = "error";
    if (res->reply_has_c)
        kind = res->kind == ES_OL_R_TERMINATED ? "ack" : "terminate";
    check_written(x, kind, res->reply.data, res->reply_has_c ? &res->reply_c : NULL);
    push(x, toward_of(x->file), x->idx);
    x->idx++;
}

/* Deliver stanza i to the live role. */
static void deliver_live(sim *x, size_t i, const char *content)
{
    const char *text = text_of(x, i);
    es_ol_result res;
    memset(&res, 0, sizeof res);
    if (text == NULL) {
        ohv_differs(&x->d, "stanza %zu has no text", i);
        x->broken = 1;
        return;
    }
    if (x->s == NULL) {
        res.kind = ES_OL_R_IGNORED;
    } else {
        esession_status rc = es_ol_feed(x->s, text, strlen(text), content,
                                        content != NULL ? strlen(content) : 0, &res);
        if (rc != ESESSION_OK) {
            ohv_differs(&x->d, "feeding stanza %zu: %s (%s)", i, esession_status_name(rc),
                        esession_ctx_error_detail(x->ctx));
            return;
        }
    }
    check_result(x, i, &res, take_entry(x, i, x->live));
    if (res.kind == ES_OL_R_ERROR && res.error != ESESSION_ERR_PEER_ERROR)
        check_error(x, "stanza", i, res.error, res.reply.data != NULL);
    send_reply(x, &res);
    es_ol_result_clear(&res);
}

/* Deliver stanza i to the file role: its entry, and its reply if any. */
static void deliver_file(sim *x, size_t i)
{
    json_t *e = take_entry(x, i, x->file);
    long long reply = -1;
    if (e != NULL && ju_integer(e, "reply", &reply) == 0 && file_writes(x, (size_t)reply))
        push(x, toward_of(x->live), (size_t)reply);
}

/* ---- the negotiation -------------------------------------------------- */

static const char *content_of(const sim *x, const char *key)
{
    return ju_string(x->test, key);
}

/* A negotiation step of the live role that failed or went on. */
static int live_step(sim *x, const char *step, size_t at, es_ol_result *res)
{
    if (res->kind == ES_OL_R_ERROR) {
        check_error(x, step, at, res->error, res->reply.data != NULL);
        send_reply(x, res);
        return 0;
    }
    return 1;
}

/* msg3 (3-message) or msg4 with a <c>: its delivery entry. */
static void first_c_entry(sim *x, size_t at, const char *to, const es_ol_result *res)
{
    if (strcmp(to, x->live) == 0) {
        json_t *e = take_entry(x, at, to);
        if (e != NULL || res->has_content)
            check_result(x, at, res, e);
    } else {
        (void)take_entry(x, at, to);
    }
}

/* File role fails at step: its reply (if any) goes to the live role. */
static int file_step(sim *x, const char *step)
{
    if (!file_error_at(x, x->file, step))
        return 1;
    long long reply = -1;
    if (ju_integer(x->error, "reply", &reply) == 0 && file_writes(x, (size_t)reply))
        push(x, toward_of(x->live), (size_t)reply);
    return 0;
}

static void negotiate(sim *x)
{
    es_ol_env env;
    const esession_key *mine[OHV_MAX_KEYS], *trusted[OHV_MAX_KEYS];
    es_ol_result res;
    esession_buf out = {NULL, 0, 0};
    esession_status rc;

    ohv_env(x->me, x->peer, &env, mine, trusted);
    memset(&res, 0, sizeof res);
    /* msg1 */
    if (x->live_alice) {
        rc = es_ol_initiate(x->ctx, &x->me->policy, &env, &x->me->fixed, 1, &x->s, &out);
        if (rc != ESESSION_OK) {
            ohv_differs(&x->d, "initiate: %s (%s)", esession_status_name(rc),
                        esession_ctx_error_detail(x->ctx));
            x->broken = 1;
            return;
        }
        check_written(x, "msg1", out.data, NULL);
        esession_buf_free(&out);
        x->idx++;
    } else if (!file_writes(x, 0)) {
        return;
    }
    /* msg1 to Bob */
    if (!x->live_alice) {
        const char *m1 = text_of(x, 0);
        rc = es_ol_respond(x->ctx, &x->me->policy, &env, &x->me->fixed, m1, strlen(m1), 1, &x->s,
                           &out);
        if (rc != ESESSION_OK) {
            x->bob_refused = 1;
            check_error(x, "msg1", 0, rc, out.data != NULL);
            res.reply = out;
            send_reply(x, &res);
            es_ol_result_clear(&res);
            return;
        }
        check_written(x, "msg2", out.data, NULL);
        esession_buf_free(&out);
        x->idx++;
    } else if (!file_step(x, "msg1") || !file_writes(x, 1)) {
        return;
    }
    /* msg2 to Alice */
    if (x->live_alice) {
        if (json_is_true(json_object_get(x->test, "msg3Terminate")))
            es_ol_set_single_stanza(x->s, 1);
        const char *c = x->variant == 3 ? content_of(x, "msg3ContentXml") : NULL;
        const char *m2 = text_of(x, 1);
        if ((rc = es_ol_feed(x->s, m2, strlen(m2), c, c != NULL ? strlen(c) : 0, &res)) !=
            ESESSION_OK) {
            ohv_differs(&x->d, "feeding msg2: %s", esession_status_name(rc));
            return;
        }
        if (!live_step(x, "msg2", 1, &res))
            goto out;
        x->fl.established = x->variant == 3;
        check_written(x, "msg3", res.reply.data, NULL);
        x->idx++;
        es_ol_result_clear(&res);
    } else if (!file_step(x, "msg2") || !file_writes(x, 2)) {
        return;
    }
    /* msg3 to Bob */
    if (!x->live_alice) {
        const char *c = x->variant == 4 ? content_of(x, "msg4ContentXml") : NULL;
        const char *m3 = text_of(x, 2);
        if ((rc = es_ol_feed(x->s, m3, strlen(m3), c, c != NULL ? strlen(c) : 0, &res)) !=
            ESESSION_OK) {
            ohv_differs(&x->d, "feeding msg3: %s", esession_status_name(rc));
            return;
        }
        if (!live_step(x, "msg3", 2, &res))
            goto out;
        x->fl.established = 1;
        if (x->variant == 3) {
            first_c_entry(x, 2, "bob", &res);
            goto out;
        }
        check_written(x, "msg4", res.reply.data, NULL);
        x->idx++;
        es_ol_result_clear(&res);
    } else {
        if (!file_step(x, "msg3"))
            return;
        if (x->variant == 3) {
            first_c_entry(x, 2, "bob", &res);
            return;
        }
        if (!file_writes(x, 3))
            return;
    }
    /* msg4 to Alice */
    if (x->live_alice) {
        const char *m4 = text_of(x, 3);
        if ((rc = es_ol_feed(x->s, m4, strlen(m4), NULL, 0, &res)) != ESESSION_OK) {
            ohv_differs(&x->d, "feeding msg4: %s", esession_status_name(rc));
            return;
        }
        if (!live_step(x, "msg4", 3, &res))
            goto out;
        x->fl.established = 1;
        first_c_entry(x, 3, "alice", &res);
    } else if (file_step(x, "msg4")) {
        first_c_entry(x, 3, "alice", &res);
    }
out:
    es_ol_result_clear(&res);
}

/* ---- the script ------------------------------------------------------- */

static void op_send(sim *x, json_t *op, int terminate)
{
    const char *from = ju_string(op, "from");
    if (from == NULL) {
        ohv_differs(&x->d, "a script op without from");
        x->broken = 1;
        return;
    }
    if (strcmp(from, x->file) == 0) {
        size_t at = x->idx;
        if (file_writes(x, at))
            push(x, toward_of(x->live), at);
        return;
    }
    es_ol_ctrace t;
    esession_buf out = {NULL, 0, 0};
    esession_status rc;
    memset(&t, 0, sizeof t);
    if (x->s == NULL) {
        rc = ESESSION_ERR_STATE;
    } else if (terminate) {
        rc = es_ol_terminate(x->s, &t, &out);
    } else {
        const char *m = ju_string(op, "plaintextXml");
        const char *type = "chat";
        json_t *ty = json_object_get(op, "type");
        if (ty != NULL)
            type = json_is_null(ty) ? NULL : json_string_value(ty);
        size_t fz_len = 0;
        uint8_t *fz = json_object_get(op, "forceZ") != NULL ? ju_hex(op, "forceZ", &fz_len) : NULL;
        es_ol_seal_in in;
        memset(&in, 0, sizeof in);
        in.m = (const uint8_t *)(m != NULL ? m : "");
        in.m_len = m != NULL ? strlen(m) : 0;
        in.rekey = json_is_true(json_object_get(op, "rekey")) || fz != NULL;
        in.force_z = fz;
        in.force_z_len = fz_len;
        rc = es_ol_seal(x->s, &in, type, &t, &out);
        free(fz);
    }
    if (rc != ESESSION_OK) {
        ohv_differs(&x->d, "%s by %s: %s (%s)", terminate ? "terminate" : "send", from,
                    esession_status_name(rc), esession_ctx_error_detail(x->ctx));
        x->broken = 1;
    } else {
        check_written(x, terminate ? "terminate" : "content", out.data, &t);
        push(x, toward_of(x->file), x->idx);
        x->idx++;
    }
    esession_buf_free(&out);
    es_ol_ctrace_clear(&t);
}

static void op_deliver(sim *x, size_t i, const char *to)
{
    if (strcmp(to, x->live) == 0)
        deliver_live(x, i, NULL);
    else
        deliver_file(x, i);
}

static void run_script(sim *x)
{
    json_t *script = ju_array(x->test, "script");
    for (size_t k = 0; script != NULL && k < json_array_size(script) && !x->broken; k++) {
        json_t *op = json_array_get(script, k);
        const char *name = ju_string(op, "op");
        if (name == NULL) {
            ohv_differs(&x->d, "script op %zu has no name", k);
            return;
        }
        if (strcmp(name, "send") == 0 || strcmp(name, "terminate") == 0) {
            op_send(x, op, strcmp(name, "terminate") == 0);
        } else if (strcmp(name, "deliver") == 0) {
            const char *to = ju_string(op, "to");
            int q = to != NULL ? toward_of(to) : -1;
            if (q < 0 || x->qh[q] == x->qt[q])
                continue;
            op_deliver(x, x->q[q][x->qh[q]++], to);
        } else if (strcmp(name, "redeliver") == 0) {
            long long i = -1;
            json_t *st = ju_integer(op, "stanza", &i) == 0 ? stanza_at(x, (size_t)i) : NULL;
            const char *to = st != NULL ? ju_string(st, "to") : NULL;
            if (to == NULL) {
                ohv_differs(&x->d, "redeliver of an unknown stanza");
                x->broken = 1;
                return;
            }
            op_deliver(x, (size_t)i, to);
        } else {
            ohv_differs(&x->d, "unknown script op %s", name);
            x->broken = 1;
        }
    }
}

/* ---- the end of the test ---------------------------------------------- */

static void check_end(sim *x)
{
    json_t *fs = ju_object(x->exp, "finalState");
    const char *want = fs != NULL ? ju_string(fs, x->live) : NULL;
    const char *have = x->s != NULL ? es_ol_state_name(es_ol_get_state(x->s)) : "failed";
    if (want == NULL || strcmp(want, have) != 0)
        ohv_differs(&x->d, "finalState %s, the file %s", have, want != NULL ? want : "?");
    json_t *ps = ju_object(x->exp, "peerStatus");
    const char *pw = ps != NULL ? ju_string(ps, x->live) : NULL;
    int has = x->s != NULL && es_ol_has_peer_status(x->s);
    const char *ph = has ? (es_ol_peer_verified(x->s) ? "verified" : "unverified") : NULL;
    if ((pw == NULL) != (ph == NULL) || (pw != NULL && strcmp(pw, ph) != 0))
        ohv_differs(&x->d, "peerStatus %s, the file %s", ph != NULL ? ph : "none",
                    pw != NULL ? pw : "none");
    json_t *ra = ju_object(x->exp, "retainedAfter");
    if (ra != NULL) {
        const es_ol_rs_list *l = x->s != NULL ? es_ol_rs_kept(x->s) : &x->me->rs;
        ohv_check_rs(&x->d, "retainedAfter", ju_object(ra, x->live), x->peer->bare, l);
    }
    if (x->s != NULL)
        ohv_check_trace(&x->d, x->exp, x->s, x->live_alice, x->variant, &x->fl, x->peer->bare);
    const char *role = err_str(x, "role");
    if (role != NULL && strcmp(role, x->live) == 0 && !x->error_seen)
        ohv_differs(&x->d, "the expected error (%s) did not happen", err_str(x, "code"));
    if (!x->broken && x->idx != json_array_size(x->stanzas))
        ohv_differs(&x->d, "%zu stanzas written, the file has %zu", x->idx,
                    json_array_size(x->stanzas));
    if (!x->broken && x->dcur != json_array_size(x->deliveries))
        ohv_differs(&x->d, "deliveries entry %zu not reached", x->dcur);
}

/* The decoded value of field var in a stanza text, hex, malloc'ed. */
static char *wire_hex(const char *xml, const char *var)
{
    char pat[64];
    snprintf(pat, sizeof pat, "var='%s'><value>", var);
    const char *a = xml != NULL ? strstr(xml, pat) : NULL;
    const char *b = a != NULL ? strstr(a, "</value>") : NULL;
    if (a == NULL || b == NULL)
        return NULL;
    a += strlen(pat);
    size_t n = (size_t)(b - a), len = 0;
    uint8_t *bin = malloc(es_base64_decoded_max(n) + 1);
    char *hex = bin != NULL ? malloc(2 * es_base64_decoded_max(n) + 1) : NULL;
    if (hex == NULL || es_base64_decode(bin, es_base64_decoded_max(n) + 1, &len, a, n) !=
                           ESESSION_OK) {
        free(bin);
        free(hex);
        return NULL;
    }
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", bin[i]);
    hex[2 * len] = '\0';
    free(bin);
    return hex;
}

/* Does the file record key as it was on the wire after the tamper? */
static int recorded_tampered(const sim *x, const char *key, const char *var)
{
    const char *want = ju_string(x->exp, key);
    char *t = wire_hex(ju_string(x->tamper, "tamperedXml"), var);
    char *o = wire_hex(ju_string(x->tamper, "originalXml"), var);
    int yes = want != NULL && t != NULL && o != NULL && strcmp(t, o) != 0 && strcmp(want, t) == 0;
    free(t);
    free(o);
    return yes;
}

static void wire_flags(sim *x)
{
    const char *kind = x->tamper != NULL ? ju_string(x->tamper, "kind") : NULL;
    if (kind == NULL)
        return;
    if (strcmp(kind, "msg3") == 0) {
        x->fl.ida_wire = recorded_tampered(x, "IDA", "identity");
        x->fl.ma_wire = recorded_tampered(x, "MA", "mac");
    } else if (strcmp(kind, "msg2") == 0 || strcmp(kind, "msg4") == 0) {
        x->fl.idb_wire = recorded_tampered(x, "IDB", "identity");
        x->fl.mb_wire = recorded_tampered(x, "MB", "mac");
    }
}

void ohv_play(hv_report *r, esession_ctx *ctx, json_t *group, json_t *test, const char *tid,
              int live_is_alice)
{
    char id[HV_ID_MAX];
    long long variant = 0;
    sim *x = calloc(1, sizeof *x);
    snprintf(id, sizeof id, "%s %s", tid, live_is_alice ? "alice" : "bob");
    if (x == NULL) {
        hv_fail(r, id, "out of memory");
        return;
    }
    x->ctx = ctx;
    x->test = test;
    x->exp = ju_object(test, "expected");
    x->stanzas = x->exp != NULL ? ju_array(x->exp, "stanzas") : NULL;
    x->deliveries = x->exp != NULL ? ju_array(x->exp, "deliveries") : NULL;
    x->error = x->exp != NULL ? ju_object(x->exp, "error") : NULL;
    x->tamper = ju_object(test, "tamper");
    x->live_alice = live_is_alice;
    x->live = live_is_alice ? "alice" : "bob";
    x->file = live_is_alice ? "bob" : "alice";
    (void)ju_integer(group, "variant", &variant);
    x->variant = (int)variant;
    json_t *ag = ju_object(group, "alice"), *bg = ju_object(group, "bob");
    const char *ajid = ag != NULL ? ju_string(ag, "jid") : NULL;
    const char *bjid = bg != NULL ? ju_string(bg, "jid") : NULL;
    const char *why = x->stanzas == NULL || x->deliveries == NULL || ajid == NULL || bjid == NULL
                          ? "expected.stanzas, deliveries or a jid missing"
                          : NULL;
    if (why == NULL)
        why = ohv_party_load(&x->alice, ctx, group, test, "alice", bjid);
    if (why == NULL)
        why = ohv_party_load(&x->bob, ctx, group, test, "bob", ajid);
    if (why != NULL) {
        hv_fail(r, id, "set-up: %s", why);
    } else {
        x->me = live_is_alice ? &x->alice : &x->bob;
        x->peer = live_is_alice ? &x->bob : &x->alice;
        wire_flags(x);
        negotiate(x);
        if (!x->broken)
            run_script(x);
        check_end(x);
        if (x->d.n > 0)
            hv_fail(r, id, "%u difference(s): %s", x->d.n, x->d.text);
        else
            hv_pass(r, id);
    }
    es_ol_free(x->s);
    ohv_party_free(&x->alice);
    ohv_party_free(&x->bob);
    free(x);
}

/* Both roles of every test of an online group. */
void hv_esession_online(hv_report *r, json_t *group, size_t gi)
{
    json_t *tests = ju_array(group, "tests");
    size_t ti;
    json_t *test;
    json_array_foreach(tests, ti, test) {
        char tid[HV_ID_MAX / 2];
        long long tc = -1;
        (void)ju_integer(test, "tcId", &tc);
        snprintf(tid, sizeof tid, "group %zu tcId %lld", gi, tc);
        ohv_play(r, r->ctx, group, test, tid, 1);
        ohv_play(r, r->ctx, group, test, tid, 0);
    }
}
