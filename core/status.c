/* SPDX-License-Identifier: ISC */
/* Names and descriptions of status codes. */
#include "core.h"

struct status_entry {
    esession_status code;
    const char *name;
    const char *text;
};

static const struct status_entry status_table[] = {
    {ESESSION_OK, "ok", "success"},
    {ESESSION_ERR_INVALID_ARGUMENT, "invalid-argument", "an argument is invalid"},
    {ESESSION_ERR_NO_MEMORY, "no-memory", "out of memory"},
    {ESESSION_ERR_RANDOM, "random", "the random source failed"},
    {ESESSION_ERR_BUFFER_TOO_SMALL, "buffer-too-small", "the output buffer is too small"},
    {ESESSION_ERR_UNSUPPORTED, "unsupported", "algorithm or size not supported"},
    {ESESSION_ERR_INTERNAL, "internal", "a cryptographic dependency failed"},
    {ESESSION_ERR_VERSION, "version", "library and header versions differ"},
    {ESESSION_ERR_STATE, "state", "operation not allowed in this state"},
    {ESESSION_ERR_LIMIT, "limit", "a size, count or depth limit was exceeded"},
    {ESESSION_ERR_BAD_KEY, "bad-key", "the key is unusable"},
    {ESESSION_ERR_BAD_PEM, "bad-pem", "the PEM text could not be parsed"},
    {ESESSION_ERR_COUNTER_EXHAUSTED, "counter-exhausted", "too many blocks under one key"},
    {ESESSION_ERR_MALFORMED, "malformed", "XML, base64, field or element structure is wrong"},
    {ESESSION_ERR_UNKNOWN_OPTIONS, "unknown-options", "no published option set has this nonce"},
    {ESESSION_ERR_EXPIRED, "expired", "the option set has expired"},
    {ESESSION_ERR_UNSUPPORTED_OPTION, "unsupported-option", "a chosen value was not offered"},
    {ESESSION_ERR_INVALID_DH_VALUE, "invalid-dh-value", "the Diffie-Hellman value is invalid"},
    {ESESSION_ERR_REPLAY, "replay", "d or the nonce was already accepted"},
    {ESESSION_ERR_BAD_IDENTITY_MAC, "bad-identity-mac", "the identity MAC does not verify"},
    {ESESSION_ERR_BAD_SIGNATURE, "bad-signature", "the signature does not verify"},
    {ESESSION_ERR_UNTRUSTED_KEY, "untrusted-key", "the key is not trusted for this JID"},
    {ESESSION_ERR_BAD_MAC, "bad-mac", "the stanza MAC does not verify"},
    {ESESSION_ERR_NO_SESSION, "no-session", "no session for this JID and thread"},
    {ESESSION_ERR_BAD_COMMITMENT, "bad-commitment", "e does not match its commitment"},
    {ESESSION_ERR_DECLINED, "declined", "the peer declined the session"},
    {ESESSION_ERR_REFUSED, "refused", "3-message negotiation refused by policy"},
    {ESESSION_ERR_PEER_ERROR, "peer-error", "the peer answered with an error"},
    {ESESSION_ERR_PUBSUB, "pubsub-error", "the server returned a pubsub error"},
    {ESESSION_ERR_NO_OPTIONS, "no-options", "the contact has published no offline options"},
    {ESESSION_ERR_IO, "io", "input/output error"},
    {ESESSION_ERR_BAD_PASSPHRASE, "bad-passphrase", "wrong passphrase or altered file"},
    {ESESSION_ERR_CORRUPT, "corrupt", "the storage file is damaged"},
};

static const struct status_entry *find(esession_status s)
{
    for (size_t i = 0; i < ES_ARRAY_LEN(status_table); i++)
        if (status_table[i].code == s)
            return &status_table[i];
    return NULL;
}

const char *esession_status_name(esession_status s)
{
    const struct status_entry *e = find(s);
    return e ? e->name : "unknown";
}

const char *esession_status_string(esession_status s)
{
    const struct status_entry *e = find(s);
    return e ? e->text : "unknown status code";
}

const char *esession_version(void)
{
    return ESESSION_VERSION_STRING;
}
