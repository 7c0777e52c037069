/* SPDX-License-Identifier: ISC */
/* The online session object: making it, routing what it receives to the
 * step it is waiting for, the stream once it is open (seal, open,
 * terminate, acknowledge), and wiping it (PROFILE §12.2, §12.9, §12.12). */
#include "ol_session.h"

#include "../core/bytes.h"

#include <stdlib.h>
#include <string.h>

static char *bare_of(const char *jid)
{
    size_t n = strcspn(jid, "/");
    char *b = malloc(n + 1);
    if (b != NULL) {
        memcpy(b, jid, n);
        b[n] = '\0';
    }
    return b;
}

static int jid_ok(const char *jid)
{
    size_t n = jid != NULL ? strnlen(jid, ES_OL_JID_MAX + 1) : 0;
    return n > 0 && n <= ES_OL_JID_MAX && jid[0] != '/';
}

static esession_status copy_keys(const esession_key *const *in, size_t n, esession_key ***out)
{
    *out = NULL;
    if (n == 0)
        return ESESSION_OK;
    esession_key **v = calloc(n, sizeof *v);
    if (v == NULL)
        return ESESSION_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; i++) {
        esession_key *k = NULL;
        if (in[i] == NULL || es_key_dup(NULL, in[i], &k) != ESESSION_OK) {
            for (size_t j = 0; j < i; j++)
                esession_key_free(v[j]);
            free(v);
            return in[i] == NULL ? ESESSION_ERR_INVALID_ARGUMENT : ESESSION_ERR_NO_MEMORY;
        }
        v[i] = k;
    }
    *out = v;
    return ESESSION_OK;
}

static void free_keys(esession_key **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        esession_key_free(v[i]);
    free(v);
}

static esession_status copy_fixed(esession_ctx *ctx, ol_fixed *f, const es_ol_fixed *in)
{
    if (in->rsh_order != NULL) {
        if (in->n_rsh_order > ES_OL_RSHASHES_MAX)
            return ESESSION_ERR_LIMIT;
        f->has_rsh_order = 1;
        f->n_rsh_order = in->n_rsh_order;
        memcpy(f->rsh_order, in->rsh_order, in->n_rsh_order * sizeof in->rsh_order[0]);
    }
    if (in->n_rsh_random > ES_OL_RSHASHES_MAX)
        return ESESSION_ERR_LIMIT;
    for (size_t i = 0; i < in->n_rsh_random; i++) {
        if (in->rsh_random_len[i] > ES_HASH_MAX_BYTES)
            return ESESSION_ERR_LIMIT;
        memcpy(f->rsh_random[i], in->rsh_random[i], in->rsh_random_len[i]);
        f->rsh_random_len[i] = in->rsh_random_len[i];
    }
    f->n_rsh_random = in->n_rsh_random;
    if (in->srshash_random != NULL) {
        if (in->srshash_random_len > ES_HASH_MAX_BYTES)
            return ESESSION_ERR_LIMIT;
        f->has_srshash_random = 1;
        f->srshash_random_len = in->srshash_random_len;
        memcpy(f->srshash_random, in->srshash_random, in->srshash_random_len);
    }
    if (in->n_z > ES_ARRAY_LEN(f->z))
        return ESESSION_ERR_LIMIT;
    for (size_t i = 0; i < in->n_z; i++) {
        if ((f->z[i] = es_secret_alloc_in(ctx, in->z_len[i])) == NULL)
            return ESESSION_ERR_NO_MEMORY;
        memcpy(f->z[i], in->z[i], in->z_len[i]);
        f->z_len[i] = in->z_len[i];
        f->n_z = i + 1;
    }
    return ESESSION_OK;
}

static void free_fixed(ol_fixed *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_z; i++)
        es_secret_free(f->z[i]);
    es_secret_free(f);
}

esession_status ol_make(esession_ctx *ctx, es_ol_role role, const es_ol_policy *policy,
                        const es_ol_env *env, const es_ol_fixed *fixed, int trace, es_ol **out)
{
    esession_status rc;

    if (policy == NULL || env == NULL || out == NULL || !jid_ok(env->my_jid) ||
        (role == ES_OL_ALICE && !jid_ok(env->peer_jid)) ||
        (env->my_keys == NULL && env->n_my_keys > 0) ||
        (env->trusted == NULL && env->n_trusted > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "online session: bad arguments");
    /* Nonces, the SRS and the new RS live in the session: guarded memory. */
    es_ol *s = es_secret_alloc_in(ctx, sizeof *s);
    if (s == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory");
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    s->role = role;
    s->state = ES_OL_NEGOTIATING;
    s->now = env->now;
    s->trust = env->trust;
    s->trust_arg = env->trust_arg;
    s->sign = env->sign;
    s->sign_arg = env->sign_arg;
    es_ol_policy_init(&s->policy);
    es_ol_rs_list_init(&s->rs);
    rc = es_ol_policy_copy(&s->policy, policy);
    if (rc == ESESSION_OK && (s->my_jid = strdup(env->my_jid)) == NULL)
        rc = ESESSION_ERR_NO_MEMORY;
    if (rc == ESESSION_OK && role == ES_OL_ALICE &&
        ((s->peer_jid = strdup(env->peer_jid)) == NULL ||
         (s->peer_bare = bare_of(env->peer_jid)) == NULL))
        rc = ESESSION_ERR_NO_MEMORY;
    if (rc == ESESSION_OK)
        rc = copy_keys(env->my_keys, env->n_my_keys, &s->my_keys);
    if (rc == ESESSION_OK) {
        s->n_my_keys = env->n_my_keys;
        rc = copy_keys(env->trusted, env->n_trusted, &s->trusted);
    }
    if (rc == ESESSION_OK) {
        s->n_trusted = env->n_trusted;
        if (env->rs != NULL)
            rc = es_ol_rs_list_copy(&s->rs, env->rs);
    }
    if (rc == ESESSION_OK && (s->fixed = es_secret_alloc_in(ctx, sizeof *s->fixed)) == NULL)
        rc = ESESSION_ERR_NO_MEMORY;
    if (rc == ESESSION_OK) {
        memset(s->fixed, 0, sizeof *s->fixed);
        if (fixed != NULL)
            rc = copy_fixed(ctx, s->fixed, fixed);
    }
    if (rc == ESESSION_OK && trace) {
        if ((s->trace = es_secret_alloc_in(ctx, sizeof *s->trace)) == NULL)
            rc = ESESSION_ERR_NO_MEMORY;
        else
            memset(s->trace, 0, sizeof *s->trace);
    }
    if (rc == ESESSION_OK &&
        (s->pending = es_secret_alloc_in(ctx, 4 * sizeof *s->pending)) == NULL)
        rc = ESESSION_ERR_NO_MEMORY;
    if (rc != ESESSION_OK) {
        es_ol_free(s);
        return es_fail(ctx, rc, "cannot make an online session");
    }
    *out = s;
    return ESESSION_OK;
}

static void trace_free(es_ol_trace *t)
{
    if (t == NULL)
        return;
    esession_buf_free(&t->form_a);
    esession_buf_free(&t->form_b);
    esession_buf_free(&t->form_a2);
    esession_buf_free(&t->form_b2);
    for (size_t i = 0; i < ES_OL_MAX_GROUPS; i++)
        esession_buf_free(&t->e[i]);
    esession_buf_free(&t->d);
    esession_buf_free(&t->ida);
    esession_buf_free(&t->idb);
    es_ol_rs_list_clear(&t->rs_after_msg3);
    es_ol_ctrace_clear(&t->c);
    es_secret_free(t);
}

void ol_destroy_keys(es_ol *s)
{
    for (size_t i = 0; i < ES_OL_MAX_GROUPS; i++) {
        es_dh_free(s->dh[i]);
        s->dh[i] = NULL;
    }
    es_session_keys_free(s->k0keys);
    es_session_keys_free(s->keys);
    s->k0keys = s->keys = NULL;
    es_ol_stream_free(s->st);
    s->st = NULL;
    sodium_memzero(s->ma, sizeof s->ma);
    sodium_memzero(s->srs, sizeof s->srs);
    sodium_memzero(s->listed, sizeof s->listed);
}

void es_ol_free(es_ol *s)
{
    if (s == NULL)
        return;
    ol_destroy_keys(s);
    es_ol_policy_clear(&s->policy);
    free(s->my_jid);
    free(s->peer_jid);
    free(s->peer_bare);
    free_keys(s->my_keys, s->n_my_keys);
    free_keys(s->trusted, s->n_trusted);
    es_ol_rs_list_clear(&s->rs);
    es_secret_free(s->pending);
    free_fixed(s->fixed);
    esession_buf_free(&s->e);
    esession_buf_free(&s->d);
    esession_buf_free(&s->form_a);
    esession_buf_free(&s->form_b);
    trace_free(s->trace);
    es_secret_free(s); /* wipes */
}

esession_status ol_rs_op(es_ol *s, const es_ol_rs_op *op)
{
    if (s->n_pending == 4)
        return es_fail(s->ctx, ESESSION_ERR_LIMIT, "retained secrets: changes not taken");
    esession_status rc = es_ol_rs_apply(&s->rs, op);
    if (rc != ESESSION_OK)
        return es_fail(s->ctx, rc, "retained secrets: cannot apply a change");
    s->pending[s->n_pending++] = *op;
    return ESESSION_OK;
}

size_t es_ol_rs_pending(const es_ol *s)
{
    return s != NULL ? s->n_pending : 0;
}

esession_status es_ol_rs_take(es_ol *s, es_ol_rs_op *ops, size_t cap, size_t *n)
{
    if (s == NULL || n == NULL || (ops == NULL && cap > 0) || cap < s->n_pending)
        return ESESSION_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < s->n_pending; i++)
        ops[i] = s->pending[i];
    *n = s->n_pending;
    sodium_memzero(s->pending, 4 * sizeof *s->pending);
    s->n_pending = 0;
    return ESESSION_OK;
}

esession_status ol_draw(es_ol *s, uint8_t *out, size_t len)
{
    return es_random(s->ctx, out, len);
}

esession_status ol_nonce(es_ol *s, const uint8_t *fixed, size_t fixed_len, const char *what,
                         uint8_t *out, size_t *out_len)
{
    if (fixed == NULL) {
        *out_len = ES_OL_NONCE_BYTES;
        return ol_draw(s, out, ES_OL_NONCE_BYTES);
    }
    if (fixed_len < ES_OL_NONCE_MIN || fixed_len > ES_OL_NONCE_MAX)
        return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "bad fixed %s", what);
    memcpy(out, fixed, fixed_len);
    *out_len = fixed_len;
    return ESESSION_OK;
}

esession_status ol_stanza(es_ol *s, const char *type, const char *body, size_t body_len,
                          esession_buf *out)
{
    es_sb b;
    es_sb_init(&b, ES_XML_MAX_BYTES, 0);
    es_ol_put_head(&b, s->my_jid, s->peer_jid, type, s->thread);
    es_sb_put(&b, body, body_len);
    es_sb_puts(&b, "</message>");
    esession_status rc = es_sb_finish(&b, out);
    if (rc != ESESSION_OK)
        return es_fail(s->ctx, rc, "cannot write the stanza");
    return ESESSION_OK;
}

esession_status ol_error_reply(es_ol *s, const char *condition, const char *const *fields,
                               size_t n_fields, esession_buf *out)
{
    return es_ol_error_stanza(s->ctx, s->my_jid, s->peer_jid, s->thread, condition, fields,
                              n_fields, out);
}

esession_status ol_stream_start(es_ol *s, const es_dir_keys *send, const uint8_t *send_ctr,
                                uint64_t send_blocks, const es_dir_keys *recv,
                                const uint8_t *recv_ctr, const uint8_t *v_peer, size_t v_len)
{
    /* Our exponent of the chosen group becomes the first set's z. */
    size_t at = 0;
    while (at < s->n_groups && s->groups[at] != s->choice.group)
        at++;
    if (at == s->n_groups || s->dh[at] == NULL)
        return es_fail(s->ctx, ESESSION_ERR_INTERNAL, "no exponent for the chosen group");
    esession_status rc = es_ol_stream_new(s->ctx, s->choice.suite, s->choice.group, send,
                                          send_ctr, send_blocks, recv, recv_ctr, s->dh[at], v_peer,
                                          v_len, s->choice.rekey_freq, s->policy.publish_old,
                                          &s->st);
    if (rc == ESESSION_OK)
        s->dh[at] = NULL; /* taken over */
    return rc;
}

/* The stanza text of a termination or acknowledgement. */
static esession_status seal_control(es_ol *s, const char *text, es_ol_ctrace *trace,
                                    esession_buf *out)
{
    es_sb head;
    esession_buf h = {NULL, 0, 0};
    es_ol_seal_in in;
    memset(&in, 0, sizeof in);
    in.m = (const uint8_t *)text;
    in.m_len = strlen(text);
    in.control = 1;
    es_sb_init(&head, ES_XML_MAX_BYTES, 0);
    es_ol_put_head(&head, s->my_jid, s->peer_jid, NULL, s->thread);
    esession_status rc = es_sb_finish(&head, &h);
    if (rc != ESESSION_OK)
        return es_fail(s->ctx, rc, "out of memory");
    rc = es_ol_stream_seal(s->ctx, s->st, &in, h.data, "</message>", trace, out);
    esession_buf_free(&h);
    return rc;
}

void ol_stream_fail(es_ol *s, esession_status code, es_ol_step step, es_ol_result *res)
{
    res->kind = ES_OL_R_ERROR;
    res->error = code;
    res->step = step;
    if (s->st != NULL && s->state != ES_OL_TERM_SENT) {
        if (seal_control(s, es_ol_term_text, &res->reply_c, &res->reply) == ESESSION_OK)
            res->reply_has_c = 1;
    }
    ol_destroy_keys(s);
    s->state = ES_OL_FAILED;
    es_fail(s->ctx, code, "%s: the session ended (%s)", esession_status_name(code),
            step == ES_OL_STEP_STANZA ? "stanza" : "negotiation");
}

static void confirm_rs(es_ol *s)
{
    if (!s->rs_confirm_pending)
        return;
    es_ol_rs_op op;
    memset(&op, 0, sizeof op);
    op.kind = ES_OL_RS_CONFIRM;
    op.len = es_hash_size(s->choice.suite.hash);
    memcpy(op.rs, s->new_rs, op.len);
    snprintf(op.client, sizeof op.client, "%s", s->peer_jid);
    if (ol_rs_op(s, &op) == ESESSION_OK)
        s->rs_confirm_pending = 0;
    sodium_memzero(&op, sizeof op);
}

void ol_open_c(es_ol *s, const xmlNode *c, es_ol_step step, es_ol_result *res)
{
    es_ol_opened op;
    memset(&op, 0, sizeof op);
    esession_status rc = es_ol_stream_open(s->ctx, s->st, c, &op);
    if (rc != ESESSION_OK) {
        ol_stream_fail(s, rc, step, res);
        return;
    }
    if (op.duplicate) {
        res->kind = ES_OL_R_DUPLICATE;
        return;
    }
    confirm_rs(s);
    res->has_content = 1;
    res->plain = op.plain;
    op.plain.data = NULL;
    memcpy(res->counter, op.counter, ES_AES_BLOCK);
    res->profile = op.profile;
    switch (op.kind) {
    case ES_OL_CONTENT:
        res->kind = ES_OL_R_OK;
        break;
    case ES_OL_TERMINATE:
        if (s->state == ES_OL_TERM_SENT) {
            res->kind = ES_OL_R_TERMINATED_CROSSING; /* the peer's terminate is our ack */
        } else {
            res->kind = ES_OL_R_TERMINATED;
            if (seal_control(s, es_ol_ack_text, &res->reply_c, &res->reply) == ESESSION_OK)
                res->reply_has_c = 1;
        }
        ol_destroy_keys(s);
        s->state = ES_OL_ENDED;
        break;
    case ES_OL_ACK:
        if (s->state != ES_OL_TERM_SENT) {
            esession_buf_free(&res->plain);
            res->has_content = 0;
            es_fail(s->ctx, ESESSION_ERR_MALFORMED, "an acknowledgement of no termination");
            ol_stream_fail(s, ESESSION_ERR_MALFORMED, step, res);
            break;
        }
        res->kind = ES_OL_R_ACKNOWLEDGED;
        ol_destroy_keys(s);
        s->state = ES_OL_ENDED;
        break;
    }
    es_ol_opened_clear(&op);
}

void es_ol_result_clear(es_ol_result *r)
{
    if (r == NULL)
        return;
    esession_buf_free(&r->plain);
    esession_buf_free(&r->reply);
    es_ol_ctrace_clear(&r->reply_c);
    sodium_memzero(r, sizeof *r);
}

/* Is this stanza from our peer? Before the peer's full JID is known, any
 * resource of its bare JID. */
static int from_peer(const es_ol *s, const char *from)
{
    if (from == NULL)
        return 0;
    if (s->peer_full_known)
        return strcmp(from, s->peer_jid) == 0;
    size_t n = strlen(s->peer_bare);
    return strncmp(from, s->peer_bare, n) == 0 && (from[n] == '\0' || from[n] == '/');
}

static es_ol_step awaited_step(const es_ol *s)
{
    switch (s->await) {
    case OL_AWAIT_MSG2: return ES_OL_STEP_MSG2;
    case OL_AWAIT_MSG3: return ES_OL_STEP_MSG3;
    case OL_AWAIT_MSG4: return ES_OL_STEP_MSG4;
    default: return ES_OL_STEP_STANZA;
    }
}

static int form_type_is(const xmlNode *x, const char *type)
{
    xmlChar *t = xmlGetNoNsProp(x, (const xmlChar *)"type");
    int yes = t != NULL && strcmp((const char *)t, type) == 0;
    xmlFree(t);
    return yes;
}

esession_status es_ol_feed(es_ol *s, const char *stanza, size_t len, const char *content,
                           size_t content_len, es_ol_result *res)
{
    es_ol_in in;
    esession_status rc;

    if (s == NULL || stanza == NULL || res == NULL || (content == NULL && content_len > 0))
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(s->ctx);
    if ((rc = es_ol_in_parse(s->ctx, stanza, len, &in)) != ESESSION_OK)
        return rc;
    if (in.thread == NULL || strcmp(in.thread, s->thread) != 0 || !from_peer(s, in.from)) {
        es_ol_in_free(&in);
        return es_fail(s->ctx, ESESSION_ERR_NO_SESSION, "not a stanza of this session");
    }
    memset(res, 0, sizeof *res);
    res->kind = ES_OL_R_IGNORED;
    if (s->state == ES_OL_ENDED || s->state == ES_OL_FAILED) {
        es_ol_in_free(&in);
        return ESESSION_OK;
    }
    if (in.type != NULL && strcmp(in.type, "error") == 0) {
        /* An error stanza on T ends the attempt (§12.8). */
        res->kind = ES_OL_R_ERROR;
        res->error = ESESSION_ERR_PEER_ERROR;
        res->step = awaited_step(s);
        es_ol_in_condition(&in, res->condition, sizeof res->condition);
        ol_destroy_keys(s);
        s->state = ES_OL_FAILED;
        es_fail(s->ctx, ESESSION_ERR_PEER_ERROR, "the peer answered with an error (%s)",
                res->condition);
    } else if (s->state == ES_OL_NEGOTIATING) {
        /* A request again (type form), or a second msg2 while msg4 is
         * awaited (submit), is ignored. */
        int request = in.form != NULL && form_type_is(in.form, "form");
        if (s->await == OL_AWAIT_MSG2 && in.form != NULL && !in.in_init && !request)
            ol_alice_msg2(s, &in, content, content_len, res);
        else if (s->await == OL_AWAIT_MSG4 && in.form != NULL && !request &&
                 !form_type_is(in.form, "submit"))
            ol_alice_msg4(s, &in, res);
        else if (s->await == OL_AWAIT_MSG3 && in.form != NULL && !in.in_init && !request)
            ol_bob_msg3(s, &in, content, content_len, res);
    } else if (in.c != NULL && in.form == NULL) {
        ol_open_c(s, in.c, ES_OL_STEP_STANZA, res);
    }
    es_ol_in_free(&in);
    return ESESSION_OK;
}

esession_status es_ol_seal(es_ol *s, const es_ol_seal_in *in, const char *type,
                           es_ol_ctrace *trace, esession_buf *out)
{
    es_sb head;
    esession_buf h = {NULL, 0, 0};

    if (s == NULL || in == NULL || out == NULL || in->control)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(s->ctx);
    if (s->state != ES_OL_OPEN || s->st == NULL)
        return es_fail(s->ctx, ESESSION_ERR_STATE, "the session is not open for sending (%s)",
                       es_ol_state_name(s->state));
    es_ol_seal_in tmp = *in;
    /* The vectors' and tests' z' values come first, in order. */
    if (tmp.rekey && tmp.z == NULL && s->fixed->next_z < s->fixed->n_z) {
        tmp.z = s->fixed->z[s->fixed->next_z];
        tmp.z_len = s->fixed->z_len[s->fixed->next_z];
    }
    es_sb_init(&head, ES_XML_MAX_BYTES, 0);
    es_ol_put_head(&head, s->my_jid, s->peer_jid, type, s->thread);
    esession_status rc = es_sb_finish(&head, &h);
    if (rc != ESESSION_OK)
        return es_fail(s->ctx, rc, "out of memory");
    rc = es_ol_stream_seal(s->ctx, s->st, &tmp, h.data, "</message>", trace, out);
    esession_buf_free(&h);
    if (rc == ESESSION_OK && tmp.rekey && in->z == NULL && s->fixed->next_z < s->fixed->n_z)
        s->fixed->next_z++;
    return rc;
}

esession_status es_ol_terminate(es_ol *s, es_ol_ctrace *trace, esession_buf *out)
{
    if (s == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(s->ctx);
    if (s->state != ES_OL_OPEN || s->st == NULL)
        return es_fail(s->ctx, ESESSION_ERR_STATE, "the session is not open (%s)",
                       es_ol_state_name(s->state));
    esession_status rc = seal_control(s, es_ol_term_text, trace, out);
    if (rc != ESESSION_OK)
        return rc;
    s->state = ES_OL_TERM_SENT;
    s->term_sent_at = es_now(s->ctx);
    return ESESSION_OK;
}

int es_ol_tick(es_ol *s, int64_t now)
{
    if (s == NULL || s->state != ES_OL_TERM_SENT || now - s->term_sent_at < ES_OL_ACK_TIMEOUT)
        return 0;
    ol_destroy_keys(s);
    s->state = ES_OL_ENDED;
    s->ack_timed_out = 1;
    return 1;
}

void es_ol_set_single_stanza(es_ol *s, int on)
{
    if (s != NULL)
        s->single_stanza = on ? 1 : 0;
}

esession_status es_ol_confirm_sas(es_ol *s)
{
    if (s == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (!s->has_sas || !s->has_peer_status)
        return es_fail(s->ctx, ESESSION_ERR_STATE, "no SAS to confirm yet");
    if (s->has_new_rs) {
        es_ol_rs_op op;
        memset(&op, 0, sizeof op);
        op.kind = ES_OL_RS_VERIFIED;
        op.len = es_hash_size(s->choice.suite.hash);
        memcpy(op.rs, s->new_rs, op.len);
        op.verified = 1;
        esession_status rc = ol_rs_op(s, &op);
        sodium_memzero(&op, sizeof op);
        if (rc != ESESSION_OK)
            return rc;
    }
    s->peer_verified = 1;
    return ESESSION_OK;
}

es_ol_state es_ol_get_state(const es_ol *s) { return s->state; }
es_ol_role es_ol_get_role(const es_ol *s) { return s->role; }
int es_ol_variant(const es_ol *s) { return s->variant; }
const char *es_ol_thread(const es_ol *s) { return s->thread; }
const char *es_ol_peer_jid(const es_ol *s) { return s->peer_jid; }
int es_ol_has_peer_status(const es_ol *s) { return s->has_peer_status; }
int es_ol_peer_verified(const es_ol *s) { return s->peer_verified; }
const char *es_ol_sas_text(const es_ol *s) { return s->has_sas ? s->sas : NULL; }
const es_ol_trace *es_ol_get_trace(const es_ol *s) { return s->trace; }
const es_ol_rs_list *es_ol_rs_kept(const es_ol *s) { return &s->rs; }
int es_ol_ack_timed_out(const es_ol *s) { return s->ack_timed_out; }

int es_ol_peer_fingerprint(const es_ol *s, uint8_t fp[ESESSION_FINGERPRINT_BYTES])
{
    if (s == NULL || !s->has_peer_fp)
        return 0;
    memcpy(fp, s->peer_fp, ESESSION_FINGERPRINT_BYTES);
    return 1;
}

int es_ol_may_rekey(const es_ol *s)
{
    return s != NULL && s->st != NULL && es_ol_stream_may_rekey(s->st);
}

uint64_t es_ol_sent(const es_ol *s)
{
    return s != NULL && s->st != NULL ? es_ol_stream_sent(s->st) : 0;
}

int es_ol_needs_rekey(const es_ol *s, size_t m_len)
{
    return s != NULL && s->st != NULL && es_ol_stream_needs_rekey(s->st, m_len);
}

int es_ol_waiting_answer(const es_ol *s)
{
    return s != NULL && s->role == ES_OL_ALICE && s->state == ES_OL_NEGOTIATING &&
           s->await == OL_AWAIT_MSG2;
}

void es_ol_set_usage(es_ol *s, uint64_t sent, uint64_t blocks)
{
    if (s != NULL)
        es_ol_stream_set_usage(s->st, sent, blocks);
}
