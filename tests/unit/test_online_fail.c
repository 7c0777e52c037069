/* SPDX-License-Identifier: ISC */
/* Every failure of PROFILE §12.8 with its code and reply, the stream
 * failures of §12.9, stanzas of another session, and API misuse: each
 * gives its clear error, and what must not change does not. */
#include "online_test.h"

#include "../../crypto/base64.h"
#include "../../crypto/mpint.h"

/* ---- text surgery on a stanza ------------------------------------------ */

/* s with the first occurrence of from replaced by to (malloc'ed). */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    cr_assert_not_null(at, "'%s' not in the stanza", from);
    size_t n = strlen(s) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    cr_assert_not_null(out);
    size_t pre = (size_t)(at - s);
    memcpy(out, s, pre);
    memcpy(out + pre, to, strlen(to));
    strcpy(out + pre + strlen(to), at + strlen(from));
    return out;
}

/* The first <value> text of field var. */
static char *value_of(const char *s, const char *var)
{
    char pat[64];
    snprintf(pat, sizeof pat, "var='%s'>", var);
    const char *a = strstr(s, pat);
    cr_assert_not_null(a, "no field %s", var);
    a = strstr(a, "<value>");
    const char *b = strstr(a, "</value>");
    a += strlen("<value>");
    return strndup(a, (size_t)(b - a));
}

/* s with the first <value> of field var set to v. */
static char *set_value(const char *s, const char *var, const char *v)
{
    char *old = value_of(s, var);
    char pat[64], from[4096], to[4096];
    snprintf(pat, sizeof pat, "var='%s'>", var);
    const char *a = strstr(s, pat);
    const char *b = strstr(a, "</value>") + strlen("</value>");
    snprintf(from, sizeof from, "%.*s", (int)(b - a), a);
    char *cut = strstr(from, old);
    snprintf(to, sizeof to, "%.*s%s</value>", (int)(cut - from), from, v);
    free(old);
    return replace(s, from, to);
}

/* s without field var. */
static char *drop_field(const char *s, const char *var)
{
    char pat[64];
    snprintf(pat, sizeof pat, "var='%s'>", var);
    const char *a = strstr(s, pat);
    cr_assert_not_null(a);
    while (a > s && strncmp(a, "<field", 6) != 0)
        a--;
    const char *b = strstr(a, "</field>") + strlen("</field>");
    char *from = strndup(a, (size_t)(b - a));
    char *out = replace(s, from, "");
    free(from);
    return out;
}

/* s with a field added at the end of the form. */
static char *add_field(const char *s, const char *field)
{
    char to[1024];
    snprintf(to, sizeof to, "%s\n  </x>", field);
    return replace(s, "\n  </x>", to);
}

static char *b64(const uint8_t *v, size_t n)
{
    char *out = malloc(es_base64_encoded_len(n) + 1);
    es_base64_encode(out, v, n);
    return out;
}

/* A base64 value with one bit of its first octet changed. */
static char *flip_b64(const char *v)
{
    uint8_t buf[8192];
    size_t n = 0;
    cr_assert_eq(es_base64_decode(buf, sizeof buf, &n, v, strlen(v)), ESESSION_OK);
    buf[0] ^= 0x01;
    return b64(buf, n);
}

static char *p_minus_1(int group)
{
    mpz_t p;
    mpz_init(p);
    cr_assert_eq(es_modp_prime(group, p), ESESSION_OK);
    mpz_sub_ui(p, p, 1);
    uint8_t buf[1100];
    size_t n = es_mpint_size(p);
    es_mpint_write(buf, p);
    mpz_clear(p);
    return b64(buf, n);
}

/* set_value, freeing v. */
static char *set_value_owned(const char *s, const char *var, char *v)
{
    char *out = set_value(s, var, v);
    free(v);
    return out;
}

static void expect_error_stanza(const esession_buf *reply, const char *cond, const char *field)
{
    char want[160];
    cr_assert_not_null(reply->data, "an error stanza is sent");
    cr_assert_not_null(strstr(reply->data, "<message type='error'"));
    snprintf(want, sizeof want, "<%s xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>", cond);
    cr_assert_not_null(strstr(reply->data, want), "%s in %s", want, reply->data);
    if (field != NULL) {
        snprintf(want, sizeof want, "<field var='%s'/>", field);
        cr_assert_not_null(strstr(reply->data, want), "%s in %s", want, reply->data);
    } else {
        cr_assert_null(strstr(reply->data, "<feature xmlns"));
    }
}

/* ---- fixtures ------------------------------------------------------------ */

static ot_params params(int variant)
{
    ot_params o = {variant, "1", "aes128-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key",
                   "key", 0};
    return o;
}

/* Bob refuses a changed msg1 with code, and answers with cond (NULL: ignores). */
static void bob_msg1_fails(int variant, char *msg1, esession_status code, const char *cond,
                           const char *field)
{
    ot_params o = params(variant);
    ot_pair p;
    esession_buf reply = {0};
    ot_init(&p, &o);
    ot_msg1(&p, NULL);
    esession_status rc = ot_respond(&p, msg1 != NULL ? msg1 : p.msg[0].data, NULL, &reply);
    cr_assert_eq(rc, code, "%s, not %s (%s)", esession_status_name(rc),
                 esession_status_name(code), esession_ctx_error_detail(p.b.ctx));
    cr_assert_null(p.b.s, "no session is made");
    if (cond == NULL)
        cr_assert_null(reply.data, "ignored: nothing is sent");
    else
        expect_error_stanza(&reply, cond, field);
    esession_buf_free(&reply);
    free(msg1);
    ot_free(&p);
}

/* A pair that went as far as msg1 (Alice has it, Bob not yet). */
static void up_to_msg1(ot_pair *p, int variant)
{
    ot_params o = params(variant);
    ot_init(p, &o);
    ot_msg1(p, NULL);
}

#define MSG1_CHANGE(name, variant, change, code, cond, field)                                     \
    Test(online_fail, msg1_##name)                                                                \
    {                                                                                             \
        ot_pair p;                                                                                \
        up_to_msg1(&p, variant);                                                                  \
        char *m = change;                                                                         \
        ot_free(&p);                                                                              \
        bob_msg1_fails(variant, m, code, cond, field);                                            \
    }

/* Step 1: structure, ignored. (The fixture is redone inside: the change
 * only needs a msg1 of the same shape.) */
MSG1_CHANGE(form_type, 4, replace(p.msg[0].data, "urn:xmpp:ssn", "urn:xmpp:ssm"),
            ESESSION_ERR_MALFORMED, NULL, NULL)
MSG1_CHANGE(accept_0, 4, set_value(p.msg[0].data, "accept", "0"), ESESSION_ERR_MALFORMED, NULL,
            NULL)
MSG1_CHANGE(no_sas_algs_4msg, 4, drop_field(p.msg[0].data, "sas_algs"), ESESSION_ERR_MALFORMED,
            NULL, NULL)
MSG1_CHANGE(sas_algs_3msg, 3,
            add_field(p.msg[0].data, "<field type='list-single' var='sas_algs'><option><value>"
                                     "sas28x5</value></option></field>"),
            ESESSION_ERR_MALFORMED, NULL, NULL)
MSG1_CHANGE(both_dh_fields, 4,
            add_field(p.msg[0].data, "<field type='hidden' var='dhkeys'><value>AQ==</value></field>"),
            ESESSION_ERR_MALFORMED, NULL, NULL)
MSG1_CHANGE(no_dh_field, 4, drop_field(p.msg[0].data, "dhhashes"), ESESSION_ERR_MALFORMED, NULL,
            NULL)
MSG1_CHANGE(dh_count, 3,
            replace(p.msg[0].data, "</value></field>\n  </x>",
                    "</value><value>AQ==</value></field>\n  </x>"),
            ESESSION_ERR_MALFORMED, NULL, NULL)
MSG1_CHANGE(he_not_32, 4, set_value(p.msg[0].data, "dhhashes", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"),
            ESESSION_ERR_MALFORMED, NULL, NULL)
MSG1_CHANGE(nonce_15, 4, set_value(p.msg[0].data, "my_nonce", "AAECAwQFBgcICQoLDA0O"),
            ESESSION_ERR_MALFORMED, NULL, NULL)
MSG1_CHANGE(nonce_not_b64, 4, set_value(p.msg[0].data, "my_nonce", "!!!!"),
            ESESSION_ERR_MALFORMED, NULL, NULL)
MSG1_CHANGE(missing_ver, 4, drop_field(p.msg[0].data, "ver"), ESESSION_ERR_MALFORMED, NULL, NULL)
MSG1_CHANGE(rekey_freq_text, 4, set_value(p.msg[0].data, "rekey_freq", "often"),
            ESESSION_ERR_MALFORMED, NULL, NULL)
MSG1_CHANGE(non_minimal_e, 3,
            replace(p.msg[0].data, "var='dhkeys'><value>", "var='dhkeys'><value>AA"),
            ESESSION_ERR_MALFORMED, NULL, NULL)
MSG1_CHANGE(no_thread, 4, replace(p.msg[0].data, "<thread>", "<thread-x>"), ESESSION_ERR_MALFORMED,
            NULL, NULL)
/* Step 2: options. */
MSG1_CHANGE(unknown_required, 4,
            add_field(p.msg[0].data, "<field type='boolean' var='x-new'><value>1</value>"
                                     "<required/></field>"),
            ESESSION_ERR_UNSUPPORTED_OPTION, "feature-not-implemented", "x-new")
MSG1_CHANGE(unknown_cipher, 4, replace(p.msg[0].data, "aes128-ctr", "blowfish-cbc"),
            ESESSION_ERR_UNSUPPORTED_OPTION, "not-acceptable", "crypt_algs")
MSG1_CHANGE(only_none_3msg, 3,
            replace(p.msg[0].data,
                    "var='init_pubkey'><option><value>key", "var='init_pubkey'><option><value>none"),
            ESESSION_ERR_UNSUPPORTED_OPTION, "not-acceptable", "init_pubkey")
/* Step 4: e of a 3-message request. */
MSG1_CHANGE(e_is_1, 3, set_value(p.msg[0].data, "dhkeys", "AQ=="), ESESSION_ERR_INVALID_DH_VALUE,
            "feature-not-implemented", NULL)
MSG1_CHANGE(e_is_0, 3, set_value(p.msg[0].data, "dhkeys", ""), ESESSION_ERR_INVALID_DH_VALUE,
            "feature-not-implemented", NULL)
MSG1_CHANGE(e_is_p_1, 3, set_value_owned(p.msg[0].data, "dhkeys", p_minus_1(1)),
            ESESSION_ERR_INVALID_DH_VALUE, "feature-not-implemented", NULL)

/* Two fields without an acceptable value: both named, in form order. */
Test(online_fail, msg1_two_bad_fields)
{
    ot_pair p;
    up_to_msg1(&p, 4);
    char *a = replace(p.msg[0].data, "aes128-ctr", "blowfish-cbc");
    char *m = replace(a, ">sha256<", ">md5<");
    free(a);
    esession_buf reply = {0};
    cr_assert_eq(ot_respond(&p, m, NULL, &reply), ESESSION_ERR_UNSUPPORTED_OPTION);
    expect_error_stanza(&reply, "not-acceptable", "crypt_algs");
    cr_assert_not_null(strstr(reply.data, "<field var='crypt_algs'/><field var='hash_algs'/>"));
    esession_buf_free(&reply);
    free(m);
    ot_free(&p);
}

/* Step 3: 3-message refused by policy. */
Test(online_fail, msg1_refused)
{
    ot_pair p;
    up_to_msg1(&p, 3);
    p.b.pol.allow3 = 0;
    esession_buf reply = {0};
    cr_assert_eq(ot_respond(&p, NULL, NULL, &reply), ESESSION_ERR_REFUSED);
    expect_error_stanza(&reply, "feature-not-implemented", "dhkeys");
    esession_buf_free(&reply);
    ot_free(&p);
}

/* ---- msg2, at Alice -------------------------------------------------------- */

static void alice_msg2_fails(int variant, char *(*change)(const char *), esession_status code,
                             const char *cond, const char *field, int trust_bob)
{
    ot_pair p;
    es_ol_result r;
    up_to_msg1(&p, variant);
    p.a.trusts_peer = trust_bob;
    es_ol_free(p.a.s);
    p.a.s = NULL;
    esession_buf_free(&p.msg[0]);
    ot_msg1(&p, NULL);
    cr_assert_eq(ot_respond(&p, NULL, NULL, &p.msg[1]), ESESSION_OK);
    char *m = change(p.msg[1].data);
    ot_feed(p.a.s, m, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_ERROR);
    cr_assert_eq(r.error, code, "%s, not %s (%s)", esession_status_name(r.error),
                 esession_status_name(code), esession_ctx_error_detail(p.a.ctx));
    cr_assert_eq(r.step, ES_OL_STEP_MSG2);
    cr_assert_eq(es_ol_get_state(p.a.s), ES_OL_FAILED);
    if (cond == NULL)
        cr_assert_null(r.reply.data);
    else
        expect_error_stanza(&r.reply, cond, field);
    /* Bob gets the error stanza: peer-error with its condition. */
    if (r.reply.data != NULL) {
        es_ol_result e;
        ot_feed(p.b.s, r.reply.data, NULL, &e);
        cr_assert_eq(e.kind, ES_OL_R_ERROR);
        cr_assert_eq(e.error, ESESSION_ERR_PEER_ERROR);
        cr_assert_str_eq(e.condition, cond);
        cr_assert_eq(es_ol_get_state(p.b.s), ES_OL_FAILED);
        es_ol_result_clear(&e);
    }
    es_ol_result_clear(&r);
    free(m);
    ot_free(&p);
}

static char *m2_decline(const char *s)
{
    /* The envelope of msg2, with XEP-0155's decline as its form. */
    const char *f = strstr(s, "\n  <feature");
    static const char decline[] =
        "<feature xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' "
        "type='submit'><field var='FORM_TYPE'><value>urn:xmpp:ssn</value></field>"
        "<field var='accept'><value>0</value></field></x></feature></message>";
    char *out = malloc((size_t)(f - s) + sizeof decline);
    memcpy(out, s, (size_t)(f - s));
    memcpy(out + (f - s), decline, sizeof decline);
    return out;
}
static char *m2_form_type(const char *s) { return replace(s, "urn:xmpp:ssn", "urn:xmpp:ssm"); }
static char *m2_nonce(const char *s)
{
    char *v = value_of(s, "nonce"), *f = flip_b64(v), *out = set_value(s, "nonce", f);
    free(v);
    free(f);
    return out;
}
static char *m2_counter(const char *s)
{
    return set_value(s, "counter", "AAECAwQFBgcICQoLDA0O");
}
static char *m2_no_my_nonce(const char *s) { return drop_field(s, "my_nonce"); }
static char *m2_cipher(const char *s) { return replace(s, ">aes128-ctr<", ">aes256-ctr<"); }
static char *m2_sign(const char *s)
{
    return replace(s, ">" ES_SIGN_ALG_RSA "<", ">" ES_SIGN_ALG_DSA "<");
}
static char *m2_rekey_freq(const char *s) { return set_value(s, "rekey_freq", "0"); }
static char *m2_d_1(const char *s) { return set_value(s, "dhkeys", "AQ=="); }
static char *m2_d_p1(const char *s)
{
    char *v = p_minus_1(1), *out = set_value(s, "dhkeys", v);
    free(v);
    return out;
}
static char *m2_mb(const char *s)
{
    char *v = value_of(s, "mac"), *f = flip_b64(v), *out = set_value(s, "mac", f);
    free(v);
    free(f);
    return out;
}
static char *m2_idb(const char *s)
{
    char *v = value_of(s, "identity"), *f = flip_b64(v), *out = set_value(s, "identity", f);
    free(v);
    free(f);
    return out;
}
static char *m2_my_nonce(const char *s)
{
    char *v = value_of(s, "my_nonce"), *f = flip_b64(v), *out = set_value(s, "my_nonce", f);
    free(v);
    free(f);
    return out;
}
static char *m2_same(const char *s) { return strdup(s); }

Test(online_fail, msg2_declined) { alice_msg2_fails(4, m2_decline, ESESSION_ERR_DECLINED, NULL, NULL, 1); }
Test(online_fail, msg2_form_type) { alice_msg2_fails(4, m2_form_type, ESESSION_ERR_MALFORMED, NULL, NULL, 1); }
Test(online_fail, msg2_nonce) { alice_msg2_fails(4, m2_nonce, ESESSION_ERR_MALFORMED, NULL, NULL, 1); }
Test(online_fail, msg2_counter_15) { alice_msg2_fails(4, m2_counter, ESESSION_ERR_MALFORMED, NULL, NULL, 1); }
Test(online_fail, msg2_missing_field) { alice_msg2_fails(3, m2_no_my_nonce, ESESSION_ERR_MALFORMED, NULL, NULL, 1); }
Test(online_fail, msg2_cipher_not_offered)
{
    alice_msg2_fails(4, m2_cipher, ESESSION_ERR_UNSUPPORTED_OPTION, "not-acceptable", "crypt_algs", 1);
}
Test(online_fail, msg2_sign_not_offered)
{
    alice_msg2_fails(4, m2_sign, ESESSION_ERR_UNSUPPORTED_OPTION, "not-acceptable", "sign_algs", 1);
}
Test(online_fail, msg2_rekey_freq_below_hers)
{
    alice_msg2_fails(4, m2_rekey_freq, ESESSION_ERR_UNSUPPORTED_OPTION, "not-acceptable", "rekey_freq", 1);
}
Test(online_fail, msg2_d_is_1)
{
    alice_msg2_fails(4, m2_d_1, ESESSION_ERR_INVALID_DH_VALUE, "not-acceptable", NULL, 1);
}
Test(online_fail, msg2_d_is_p_1)
{
    alice_msg2_fails(3, m2_d_p1, ESESSION_ERR_INVALID_DH_VALUE, "not-acceptable", NULL, 1);
}
Test(online_fail, msg2_mb)
{
    alice_msg2_fails(3, m2_mb, ESESSION_ERR_BAD_IDENTITY_MAC, "feature-not-implemented", NULL, 1);
}
Test(online_fail, msg2_idb)
{
    alice_msg2_fails(3, m2_idb, ESESSION_ERR_BAD_IDENTITY_MAC, "feature-not-implemented", NULL, 1);
}
Test(online_fail, msg2_formb_changed_bad_signature)
{
    alice_msg2_fails(3, m2_my_nonce, ESESSION_ERR_BAD_SIGNATURE, "feature-not-implemented", NULL, 1);
}
Test(online_fail, msg2_untrusted_key_3msg)
{
    alice_msg2_fails(3, m2_same, ESESSION_ERR_UNTRUSTED_KEY, "feature-not-implemented", NULL, 0);
}

/* ---- msg3, at Bob ------------------------------------------------------------ */

/* A pair as far as msg3 (Bob has not taken it). */
static void up_to_msg3(ot_pair *p, int variant)
{
    es_ol_result r;
    ot_msg1(p, NULL);
    cr_assert_eq(ot_respond(p, NULL, NULL, &p->msg[1]), ESESSION_OK);
    ot_feed(p->a.s, p->msg[1].data, variant == 3 ? "<body>c3</body>" : NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_PROGRESS, "msg2: %s", esession_status_name(r.error));
    p->msg[2] = r.reply;
    r.reply.data = NULL;
    es_ol_result_clear(&r);
}

static void bob_msg3_fails(ot_pair *p, char *m, esession_status code, const char *cond,
                           int termination)
{
    es_ol_result r;
    ot_feed(p->b.s, m, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_ERROR);
    cr_assert_eq(r.error, code, "%s, not %s (%s)", esession_status_name(r.error),
                 esession_status_name(code), esession_ctx_error_detail(p->b.ctx));
    cr_assert_eq(r.step, ES_OL_STEP_MSG3);
    cr_assert_eq(es_ol_get_state(p->b.s), ES_OL_FAILED);
    if (termination) {
        cr_assert_not_null(r.reply.data);
        cr_assert_null(strstr(r.reply.data, "type='error'"));
        cr_assert_not_null(strstr(r.reply.data, "<c xmlns="));
    } else if (cond == NULL) {
        cr_assert_null(r.reply.data);
    } else {
        expect_error_stanza(&r.reply, cond, NULL);
    }
    es_ol_result_clear(&r);
    free(m);
}

#define MSG3_CHANGE(name, variant, change, code, cond, term)                                     \
    Test(online_fail, msg3_##name)                                                               \
    {                                                                                            \
        ot_params o = params(variant);                                                           \
        ot_pair p;                                                                               \
        ot_init(&p, &o);                                                                         \
        up_to_msg3(&p, variant);                                                                 \
        const char *s = p.msg[2].data;                                                           \
        bob_msg3_fails(&p, change, code, cond, term);                                            \
        ot_free(&p);                                                                             \
    }

static char *flip_field(const char *s, const char *var)
{
    char *v = value_of(s, var), *f = flip_b64(v), *out = set_value(s, var, f);
    free(v);
    free(f);
    return out;
}

MSG3_CHANGE(form_type, 4, replace(s, "urn:xmpp:ssn", "urn:xmpp:ssm"), ESESSION_ERR_MALFORMED, NULL, 0)
MSG3_CHANGE(accept, 3, set_value(s, "accept", "no"), ESESSION_ERR_MALFORMED, NULL, 0)
MSG3_CHANGE(nonce, 4, flip_field(s, "nonce"), ESESSION_ERR_MALFORMED, NULL, 0)
MSG3_CHANGE(two_dhkeys, 4, replace(s, "</value></field>\n    <field type='hidden' var='rshashes'>",
                                   "</value><value>AQ==</value></field>\n    <field type='hidden' "
                                   "var='rshashes'>"),
            ESESSION_ERR_MALFORMED, NULL, 0)
MSG3_CHANGE(no_rshashes, 4, drop_field(s, "rshashes"), ESESSION_ERR_MALFORMED, NULL, 0)
MSG3_CHANGE(rshash_short, 4, set_value(s, "rshashes", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"),
            ESESSION_ERR_MALFORMED, NULL, 0)
MSG3_CHANGE(terminate_4msg, 4,
            add_field(s, "<field var='terminate'><value>1</value></field>"),
            ESESSION_ERR_MALFORMED, NULL, 0)
MSG3_CHANGE(c_in_4msg, 4,
            replace(s, "\n</message>", "<c xmlns='http://www.xmpp.org/extensions/xep-0200.html#ns'>"
                                       "<mac>AA==</mac></c></message>"),
            ESESSION_ERR_MALFORMED, NULL, 0)
MSG3_CHANGE(terminate_not_boolean, 3,
            add_field(s, "<field var='terminate'><value>maybe</value></field>"),
            ESESSION_ERR_MALFORMED, NULL, 0)
MSG3_CHANGE(ma, 4, flip_field(s, "mac"), ESESSION_ERR_BAD_IDENTITY_MAC, "feature-not-implemented", 0)
MSG3_CHANGE(ida, 3, flip_field(s, "identity"), ESESSION_ERR_BAD_IDENTITY_MAC,
            "feature-not-implemented", 0)
MSG3_CHANGE(forma2_changed, 4, flip_field(s, "rshashes"), ESESSION_ERR_BAD_SIGNATURE,
            "feature-not-implemented", 0)
MSG3_CHANGE(commitment, 4, set_value(s, "dhkeys", "Ag=="), ESESSION_ERR_BAD_COMMITMENT,
            "feature-not-implemented", 0)
MSG3_CHANGE(first_c, 3, replace(s, "<data>", "<data>AAAA"), ESESSION_ERR_BAD_MAC, NULL, 1)

/* Step 3: an e that matches its commitment but is no valid DH value. */
Test(online_fail, msg3_invalid_e)
{
    ot_params o = params(4);
    ot_pair p;
    ot_init(&p, &o);
    ot_msg1(&p, NULL);
    uint8_t one = 1, he[32];
    cr_assert_eq(es_hash(ES_HASH_SHA256, &one, 1, he), ESESSION_OK);
    char *he64 = b64(he, 32);
    char *m1 = set_value(p.msg[0].data, "dhhashes", he64);
    cr_assert_eq(ot_respond(&p, m1, NULL, &p.msg[1]), ESESSION_OK);
    es_ol_result r;
    ot_feed(p.a.s, p.msg[1].data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_PROGRESS);
    char *m3 = set_value(r.reply.data, "dhkeys", "AQ==");
    bob_msg3_fails(&p, m3, ESESSION_ERR_INVALID_DH_VALUE, "feature-not-implemented", 0);
    es_ol_result_clear(&r);
    free(he64);
    free(m1);
    ot_free(&p);
}

/* 3-message: Bob must trust Alice's key. */
Test(online_fail, msg3_untrusted_key_3msg)
{
    ot_params o = params(3);
    ot_pair p;
    ot_init(&p, &o);
    p.b.trusts_peer = 0;
    up_to_msg3(&p, 3);
    bob_msg3_fails(&p, strdup(p.msg[2].data), ESESSION_ERR_UNTRUSTED_KEY,
                   "feature-not-implemented", 0);
    ot_free(&p);
}

/* hash: a fingerprint of no key Bob keeps for Alice is untrusted-key. */
Test(online_fail, msg3_hash_of_an_unknown_key)
{
    ot_params o = params(4);
    o.init_pk = "hash";
    ot_pair p;
    ot_init(&p, &o);
    p.b.trusted_instead = ot_key(p.b.ctx, "dsa2048.pem");
    up_to_msg3(&p, 4);
    bob_msg3_fails(&p, strdup(p.msg[2].data), ESESSION_ERR_UNTRUSTED_KEY,
                   "feature-not-implemented", 0);
    ot_free(&p);
}

/* ---- msg4, at Alice --------------------------------------------------------- */

static void alice_msg4_fails(const char *var, const char *what, esession_status code,
                             const char *cond, int termination)
{
    ot_params o = params(4);
    ot_pair p;
    es_ol_result r;
    ot_init(&p, &o);
    up_to_msg3(&p, 4);
    ot_feed(p.b.s, p.msg[2].data, "<body>c4</body>", &r);
    cr_assert_eq(r.kind, ES_OL_R_PROGRESS);
    char *m = what != NULL ? replace(r.reply.data, var, what) : flip_field(r.reply.data, var);
    es_ol_result_clear(&r);
    ot_feed(p.a.s, m, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_ERROR);
    cr_assert_eq(r.error, code, "%s, not %s (%s)", esession_status_name(r.error),
                 esession_status_name(code), esession_ctx_error_detail(p.a.ctx));
    cr_assert_eq(r.step, ES_OL_STEP_MSG4);
    cr_assert_eq(es_ol_get_state(p.a.s), ES_OL_FAILED);
    if (termination) {
        cr_assert_not_null(strstr(r.reply.data, "<c xmlns="));
        /* Bob acknowledges; Alice, whose keys are gone, ignores it. */
        es_ol_result a, b;
        ot_feed(p.b.s, r.reply.data, NULL, &a);
        cr_assert_eq(a.kind, ES_OL_R_TERMINATED);
        ot_feed(p.a.s, a.reply.data, NULL, &b);
        cr_assert_eq(b.kind, ES_OL_R_IGNORED);
        es_ol_result_clear(&a);
        es_ol_result_clear(&b);
    } else if (cond == NULL) {
        cr_assert_null(r.reply.data);
    } else {
        expect_error_stanza(&r.reply, cond, NULL);
    }
    /* Her retained secrets change only once Bob's identity verified. */
    cr_assert_eq(es_ol_rs_kept(p.a.s)->n, termination ? 1u : 0u);
    es_ol_result_clear(&r);
    free(m);
    ot_free(&p);
}

Test(online_fail, msg4_form_type)
{
    alice_msg4_fails("urn:xmpp:ssn", "urn:xmpp:ssm", ESESSION_ERR_MALFORMED, NULL, 0);
}
Test(online_fail, msg4_nonce) { alice_msg4_fails("nonce", NULL, ESESSION_ERR_MALFORMED, NULL, 0); }
Test(online_fail, msg4_srshash_short)
{
    alice_msg4_fails("var='srshash'><value>", "var='srshash'><value>AAAA", ESESSION_ERR_MALFORMED,
                     NULL, 0);
}
Test(online_fail, msg4_mb)
{
    alice_msg4_fails("mac", NULL, ESESSION_ERR_BAD_IDENTITY_MAC, "feature-not-implemented", 0);
}
Test(online_fail, msg4_formb2_changed)
{
    alice_msg4_fails("srshash", NULL, ESESSION_ERR_BAD_SIGNATURE, "feature-not-implemented", 0);
}
Test(online_fail, msg4_first_c)
{
    alice_msg4_fails("<data>", "<data>AAAA", ESESSION_ERR_BAD_MAC, NULL, 1);
}

/* ---- the stream (§12.9) --------------------------------------------------------- */

static void open_pair(ot_pair *p, int variant)
{
    ot_params o = params(variant);
    ot_init(p, &o);
    ot_negotiate(p, NULL, NULL);
}

/* Bob fails on stanza m: code, his termination, Alice acknowledges, Bob ignores. */
static void bob_stanza_fails(ot_pair *p, char *m, esession_status code)
{
    es_ol_result r, a, b;
    ot_feed(p->b.s, m, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_ERROR);
    cr_assert_eq(r.error, code, "%s, not %s (%s)", esession_status_name(r.error),
                 esession_status_name(code), esession_ctx_error_detail(p->b.ctx));
    cr_assert_eq(r.step, ES_OL_STEP_STANZA);
    cr_assert_eq(es_ol_get_state(p->b.s), ES_OL_FAILED);
    cr_assert_null(strstr(r.reply.data, "type='error'"), "no error stanza in the stream");
    ot_feed(p->a.s, r.reply.data, NULL, &a);
    cr_assert_eq(a.kind, ES_OL_R_TERMINATED);
    cr_assert_eq(es_ol_get_state(p->a.s), ES_OL_ENDED);
    ot_feed(p->b.s, a.reply.data, NULL, &b);
    cr_assert_eq(b.kind, ES_OL_R_IGNORED);
    es_ol_result_clear(&r);
    es_ol_result_clear(&a);
    es_ol_result_clear(&b);
    free(m);
}

static char *sealed(ot_pair *p, const char *m, int rekey, const char *force_z)
{
    es_ol_seal_in in;
    esession_buf out = {0};
    uint8_t z[1100];
    size_t zl = 0;
    memset(&in, 0, sizeof in);
    in.m = (const uint8_t *)m;
    in.m_len = strlen(m);
    in.rekey = rekey;
    if (force_z != NULL) {
        cr_assert_eq(es_base64_decode(z, sizeof z, &zl, force_z, strlen(force_z)), ESESSION_OK);
        in.force_z = z;
        in.force_z_len = zl;
    }
    cr_assert_eq(es_ol_seal(p->a.s, &in, NULL, NULL, &out), ESESSION_OK);
    return out.data;
}

Test(online_fail, stanza_data_flipped)
{
    ot_pair p;
    open_pair(&p, 4);
    char *s = sealed(&p, "<body>x</body>", 0, NULL);
    bob_stanza_fails(&p, replace(s, "<data>", "<data>AAAA"), ESESSION_ERR_BAD_MAC);
    free(s);
    ot_free(&p);
}

Test(online_fail, stanza_new_leading_zero)
{
    ot_pair p;
    open_pair(&p, 3);
    ot_send(p.b.s, p.a.s, "<body>key</body>", 1);
    char *s = sealed(&p, "<body>x</body>", 0, NULL);
    bob_stanza_fails(&p, replace(s, "<new>1</new>", "<new>01</new>"), ESESSION_ERR_MALFORMED);
    free(s);
    ot_free(&p);
}

Test(online_fail, stanza_new_beyond_sets)
{
    ot_pair p;
    open_pair(&p, 4);
    ot_send(p.b.s, p.a.s, "<body>key</body>", 1);
    char *s = sealed(&p, "<body>x</body>", 0, NULL);
    bob_stanza_fails(&p, replace(s, "<new>1</new>", "<new>2</new>"), ESESSION_ERR_BAD_MAC);
    free(s);
    ot_free(&p);
}

Test(online_fail, stanza_key_is_1)
{
    ot_pair p;
    open_pair(&p, 4);
    bob_stanza_fails(&p, sealed(&p, "<body>bad key</body>", 1, "AQ=="),
                     ESESSION_ERR_INVALID_DH_VALUE);
    ot_free(&p);
}

Test(online_fail, stanza_key_in_termination)
{
    ot_pair p;
    open_pair(&p, 3);
    bob_stanza_fails(&p, sealed(&p, es_ol_term_text, 1, NULL), ESESSION_ERR_MALFORMED);
    ot_free(&p);
}

Test(online_fail, stanza_mac_not_base64)
{
    ot_pair p;
    open_pair(&p, 4);
    char *s = sealed(&p, "<body>x</body>", 0, NULL);
    char *t = replace(s, "<mac>", "<mac>!!!!");
    bob_stanza_fails(&p, t, ESESSION_ERR_MALFORMED);
    free(s);
    ot_free(&p);
}

Test(online_fail, stanza_unknown_child)
{
    ot_pair p;
    open_pair(&p, 4);
    char *s = sealed(&p, "<body>x</body>", 0, NULL);
    bob_stanza_fails(&p, replace(s, "<mac>", "<foo/><mac>"), ESESSION_ERR_MALFORMED);
    free(s);
    ot_free(&p);
}

Test(online_fail, stanza_plaintext_not_xml)
{
    ot_pair p;
    open_pair(&p, 4);
    bob_stanza_fails(&p, sealed(&p, "<body>unclosed", 0, NULL), ESESSION_ERR_MALFORMED);
    ot_free(&p);
}

Test(online_fail, stanza_ack_of_nothing)
{
    ot_pair p;
    open_pair(&p, 4);
    bob_stanza_fails(&p, sealed(&p, es_ol_ack_text, 0, NULL), ESESSION_ERR_MALFORMED);
    ot_free(&p);
}

/* Another thread, another resource, or no <message/> at all: refused,
 * and the session goes on as if nothing came. */
Test(online_fail, not_this_session)
{
    ot_pair p;
    open_pair(&p, 4);
    char *s = sealed(&p, "<body>x</body>", 0, NULL);
    char *other_thread = replace(s, "<thread>", "<thread>9");
    char *other_res = replace(s, OT_ALICE, OT_ALICE_BARE "/other");
    es_ol_result r;
    memset(&r, 0, sizeof r);
    cr_assert_eq(es_ol_feed(p.b.s, other_thread, strlen(other_thread), NULL, 0, &r),
                 ESESSION_ERR_NO_SESSION);
    cr_assert_eq(es_ol_feed(p.b.s, other_res, strlen(other_res), NULL, 0, &r),
                 ESESSION_ERR_NO_SESSION);
    cr_assert_eq(es_ol_feed(p.b.s, "<iq/>", 5, NULL, 0, &r), ESESSION_ERR_MALFORMED);
    cr_assert_eq(es_ol_feed(p.b.s, "<message", 8, NULL, 0, &r), ESESSION_ERR_MALFORMED);
    cr_assert_eq(es_ol_get_state(p.b.s), ES_OL_OPEN);
    ot_feed(p.b.s, s, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_OK);
    es_ol_result_clear(&r);
    free(s);
    free(other_thread);
    free(other_res);
    ot_free(&p);
}

/* ---- API misuse --------------------------------------------------------------- */

Test(online_fail, bad_policies)
{
    ot_params o = params(4);
    ot_pair p;
    esession_buf m = {0};
    const esession_key *mine[1], *trusted[1];
    es_ol_env env;
    ot_init(&p, &o);
    ot_env(&p.a, &p.b, OT_ALICE, OT_BOB, mine, trusted, &env);
    p.a.pol.variant = 5;
    cr_assert_eq(es_ol_initiate(p.a.ctx, &p.a.pol, &env, NULL, 0, &p.a.s, &m),
                 ESESSION_ERR_INVALID_ARGUMENT);
    p.a.pol.variant = 4;
    ot_add(&p.a.pol, ES_OLF_MODP, "3"); /* an elliptic-curve Oakley group */
    cr_assert_eq(es_ol_initiate(p.a.ctx, &p.a.pol, &env, NULL, 0, &p.a.s, &m),
                 ESESSION_ERR_UNSUPPORTED);
    es_ol_policy_clear(&p.a.pol);
    o.variant = 3;
    ot_alice_policy(&p.a.pol, &o, p.a.key);
    ot_add(&p.a.pol, ES_OLF_RESP_PUBKEY, "none");
    cr_assert_eq(es_ol_initiate(p.a.ctx, &p.a.pol, &env, NULL, 0, &p.a.s, &m),
                 ESESSION_ERR_INVALID_ARGUMENT);
    es_ol_policy_clear(&p.a.pol);
    ot_alice_policy(&p.a.pol, &o, p.a.key);
    free(p.a.pol.v[ES_OLF_VER][0]);
    p.a.pol.n[ES_OLF_VER] = 0;
    cr_assert_eq(es_ol_initiate(p.a.ctx, &p.a.pol, &env, NULL, 0, &p.a.s, &m),
                 ESESSION_ERR_INVALID_ARGUMENT);
    env.my_jid = "";
    cr_assert_eq(es_ol_initiate(p.a.ctx, &p.a.pol, &env, NULL, 0, &p.a.s, &m),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(p.a.s);
    cr_assert_null(m.data);
    cr_assert_eq(es_ol_policy_add(&p.a.pol, ES_OLF_OTR, ""), ESESSION_ERR_INVALID_ARGUMENT);
    char big[200];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(es_ol_policy_add(&p.a.pol, ES_OLF_OTR, big), ESESSION_ERR_LIMIT);
    ot_free(&p);
}

Test(online_fail, calls_out_of_state)
{
    ot_params o = params(3);
    ot_pair p;
    esession_buf out = {0};
    es_ol_seal_in in;
    es_ol_result r;
    memset(&in, 0, sizeof in);
    ot_init(&p, &o);
    ot_msg1(&p, NULL);
    /* Negotiating: nothing may be sealed, terminated or confirmed. */
    cr_assert_eq(es_ol_seal(p.a.s, &in, "chat", NULL, &out), ESESSION_ERR_STATE);
    cr_assert_eq(es_ol_terminate(p.a.s, NULL, &out), ESESSION_ERR_STATE);
    cr_assert_eq(es_ol_confirm_sas(p.a.s), ESESSION_ERR_STATE);
    cr_assert_eq(es_ol_seal(NULL, &in, "chat", NULL, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ol_feed(p.a.s, NULL, 0, NULL, 0, &r), ESESSION_ERR_INVALID_ARGUMENT);
    in.control = 1;
    cr_assert_eq(es_ol_seal(p.a.s, &in, "chat", NULL, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(out.data);
    cr_assert_eq(es_ol_get_state(p.a.s), ES_OL_NEGOTIATING);
    /* A 3-message session has no SAS to confirm. */
    cr_assert_eq(ot_respond(&p, NULL, NULL, &p.msg[1]), ESESSION_OK);
    ot_feed(p.a.s, p.msg[1].data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_PROGRESS);
    es_ol_result_clear(&r);
    cr_assert_eq(es_ol_confirm_sas(p.a.s), ESESSION_ERR_STATE);
    /* A second msg2 is ignored. */
    ot_feed(p.a.s, p.msg[1].data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_IGNORED);
    es_ol_result_clear(&r);
    ot_free(&p);
}

/* Negotiation messages delivered again are ignored: the request at Bob,
 * msg2 at Alice (while she waits for msg4 and once open). */
Test(online_fail, negotiation_messages_again)
{
    ot_params o = params(4);
    ot_pair p;
    es_ol_result r;
    ot_init(&p, &o);
    up_to_msg3(&p, 4);
    ot_feed(p.b.s, p.msg[0].data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_IGNORED);
    ot_feed(p.a.s, p.msg[1].data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_IGNORED);
    ot_feed(p.b.s, p.msg[2].data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_PROGRESS);
    esession_buf m4 = r.reply;
    r.reply.data = NULL;
    es_ol_result_clear(&r);
    ot_feed(p.b.s, p.msg[2].data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_IGNORED);
    ot_feed(p.a.s, m4.data, NULL, &r);
    cr_assert(r.established);
    es_ol_result_clear(&r);
    ot_feed(p.a.s, m4.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_IGNORED);
    cr_assert_eq(es_ol_get_state(p.a.s), ES_OL_OPEN);
    cr_assert_eq(es_ol_get_state(p.b.s), ES_OL_OPEN);
    esession_buf_free(&m4);
    ot_send(p.a.s, p.b.s, "<body>fine</body>", 0);
    ot_free(&p);
}
