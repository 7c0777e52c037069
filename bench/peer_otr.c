/* SPDX-License-Identifier: ISC */
/* libotr (OTR v3), in memory, as the peer for interactive sessions: the
 * AKE between two accounts (both sides, one thread) and a 1 KiB message
 * one way (sending and receiving), with the same clock as esession's
 * steps. Bench-only: libotr never reaches the library. */
#include "bench.h"

/* libotr's headers need this order. */
#include <libotr/proto.h>
#include <libotr/context.h>
#include <libotr/instag.h>
#include <libotr/message.h>
#include <libotr/privkey.h>
#include <libotr/userstate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTO "xmpp"
#define QUEUE_MAX 64u
#define BATCH 8u

typedef struct in_flight {
    int to_b;
    char *text;
} in_flight;

/* Two accounts and the messages in flight between them. */
typedef struct link {
    OtrlUserState a, b;
    in_flight q[QUEUE_MAX];
    size_t n;
} link;

/* The AKE runs again every round on one link; messages go on another,
 * whose keys have settled (a fresh AKE's first messages rotate keys). */
struct bench_otr {
    link ake, msg;
    char *text;
    size_t text_len;
};

static OtrlPolicy policy(void *opdata, ConnContext *context)
{
    (void)opdata;
    (void)context;
    return OTRL_POLICY_MANUAL;
}

static int is_logged_in(void *opdata, const char *account, const char *protocol,
                        const char *recipient)
{
    (void)opdata;
    (void)account;
    (void)protocol;
    (void)recipient;
    return 1;
}

static void inject(void *opdata, const char *account, const char *protocol,
                   const char *recipient, const char *message)
{
    link *o = opdata;
    (void)account;
    (void)protocol;
    if (o->n == QUEUE_MAX)
        bench_fail("libotr: message queue full");
    o->q[o->n].to_b = strcmp(recipient, "bob") == 0;
    if ((o->q[o->n].text = strdup(message)) == NULL)
        bench_fail("out of memory");
    o->n++;
}

static OtrlMessageAppOps ops = {
    .policy = policy,
    .is_logged_in = is_logged_in,
    .inject_message = inject,
};

/* Hand every queued message to its recipient, and what that answers. */
static void deliver(link *o)
{
    while (o->n > 0) {
        in_flight m = o->q[0];
        memmove(o->q, o->q + 1, (o->n - 1) * sizeof o->q[0]);
        o->n--;
        char *plain = NULL;
        OtrlTLV *tlvs = NULL;
        otrl_message_receiving(m.to_b ? o->b : o->a, &ops, o, m.to_b ? "bob" : "alice", PROTO,
                               m.to_b ? "alice" : "bob", m.text, &plain, &tlvs, NULL, NULL,
                               NULL);
        otrl_tlv_free(tlvs);
        otrl_message_free(plain);
        free(m.text);
    }
}

static OtrlUserState account(const char *name)
{
    OtrlUserState us = otrl_userstate_create();
    FILE *keys = tmpfile(), *tags = tmpfile();
    if (us == NULL || keys == NULL || tags == NULL ||
        otrl_privkey_generate_FILEp(us, keys, name, PROTO) != 0 ||
        otrl_instag_generate_FILEp(us, tags, name, PROTO) != 0)
        bench_fail("libotr: cannot set up %s", name);
    fclose(keys);
    fclose(tags);
    return us;
}

static int encrypted(OtrlUserState us, const char *user, const char *account_name)
{
    ConnContext *c = otrl_context_find(us, user, account_name, PROTO, OTRL_INSTAG_BEST, 0, NULL,
                                       NULL, NULL);
    return c != NULL && c->msgstate == OTRL_MSGSTATE_ENCRYPTED;
}

static double ake(link *o)
{
    otrl_context_forget_all(o->a);
    otrl_context_forget_all(o->b);
    double t0 = bench_cpu_us();
    char *query = otrl_proto_default_query_msg("alice", OTRL_POLICY_MANUAL);
    inject(o, "alice", PROTO, "bob", query);
    free(query);
    deliver(o);
    double t1 = bench_cpu_us();
    if (!encrypted(o->a, "bob", "alice") || !encrypted(o->b, "alice", "bob"))
        bench_fail("libotr: the AKE did not finish");
    return t1 - t0;
}

double bench_otr_ake(bench_otr *o)
{
    return ake(&o->ake);
}

static void link_free(link *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->q[i].text);
    otrl_userstate_free(l->a);
    otrl_userstate_free(l->b);
}

bench_otr *bench_otr_new(void)
{
    bench_otr *o = calloc(1, sizeof *o);
    if (o == NULL)
        bench_fail("out of memory");
    if (otrl_init(OTRL_VERSION_MAJOR, OTRL_VERSION_MINOR, OTRL_VERSION_SUB) != 0)
        bench_fail("libotr: version mismatch");
    o->ake.a = account("alice");
    o->ake.b = account("bob");
    o->msg.a = account("alice");
    o->msg.b = account("bob");
    o->text = bench_message(1024, &o->text_len);
    (void)ake(&o->msg);
    return o;
}

void bench_otr_free(bench_otr *o)
{
    if (o == NULL)
        return;
    link_free(&o->ake);
    link_free(&o->msg);
    free(o->text);
    free(o);
}

double bench_otr_message(bench_otr *b)
{
    link *o = &b->msg;
    double t0 = bench_cpu_us();
    for (unsigned i = 0; i < BATCH; i++) {
        char *wire = NULL, *plain = NULL;
        OtrlTLV *tlvs = NULL;
        if (otrl_message_sending(o->a, &ops, o, "alice", PROTO, "bob", OTRL_INSTAG_BEST, b->text,
                                 NULL, &wire, OTRL_FRAGMENT_SEND_SKIP, NULL, NULL, NULL) != 0 ||
            wire == NULL)
            bench_fail("libotr: cannot send");
        int internal = otrl_message_receiving(o->b, &ops, o, "bob", PROTO, "alice", wire, &plain,
                                              &tlvs, NULL, NULL, NULL);
        if (internal || plain == NULL || strcmp(plain, b->text) != 0)
            bench_fail("libotr: the message did not come through");
        otrl_tlv_free(tlvs);
        otrl_message_free(plain);
        otrl_message_free(wire);
    }
    double t1 = bench_cpu_us();
    deliver(o); /* untimed: anything the exchange asked to send (heartbeats) */
    return (t1 - t0) / BATCH;
}
