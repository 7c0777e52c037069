/* SPDX-License-Identifier: ISC */
/* esessionctl: shared declarations of the command files and helpers. */
#ifndef ESESSIONCTL_CLI_H
#define ESESSIONCTL_CLI_H

#include "esession.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (documented in docs/esessionctl.1, EXIT STATUS). */
enum {
    CLI_OK = 0,
    CLI_EXIT_USAGE = 1,    /* bad command line */
    CLI_EXIT_KEYSTORE = 2, /* wrong passphrase, damaged keystore, passphrases differ */
    CLI_EXIT_TRUST = 3,    /* untrusted key, failed verification, key-association conflict */
    CLI_EXIT_REJECTED = 4, /* input refused: malformed, expired, replayed, unknown, ... */
    CLI_EXIT_IO = 5,       /* file system, or a secret refused for a readable output */
    CLI_EXIT_CONFLICT = 6, /* already exists, not found, or not possible in this state */
    CLI_EXIT_INTERNAL = 7  /* out of memory, random source, library failure */
};

/* Largest input read from a file or stdin (stanzas, keys, item results). */
#define CLI_INPUT_MAX (4u << 20)
#define CLI_JID_MAX ESESSION_JID_MAX

/* ---- commands (one file per group) */
typedef int (*cli_fn)(int argc, char **argv);

int cmd_init(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_genkey(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_fingerprint(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_delkey(int argc, char **argv);
int cmd_trust(int argc, char **argv);
int cmd_peers(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_untrust(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_online(int argc, char **argv);
int cmd_optsets(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_terminate(int argc, char **argv);
int cmd_open(int argc, char **argv);
int cmd_xmpp_publish(int argc, char **argv);
int cmd_xmpp_send(int argc, char **argv);
int cmd_xmpp_receive(int argc, char **argv);
int cmd_xmpp_raw(int argc, char **argv);
int cmd_xmpp_chat(int argc, char **argv);
int cmd_agent(int argc, char **argv);
#ifdef ESESSIONCTL_TESTING
/* Only in the test tool (tests/cli/): the server stand-in. */
int cmd_server(int argc, char **argv);
#endif

/* ---- option parsing (opts.c) */
enum { OPT_ARG_NONE = 0, OPT_ARG_REQUIRED = 1 };

typedef struct cli_optdef {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 if none */
    int has_arg;
    int id;           /* > 0 */
} cli_optdef;

/* Options shared by many commands; a command lists the ones it takes. */
enum {
    O_HELP = 1000,
    O_KEYSTORE,
    O_PASS_FD,
    O_PASS_FILE,
    O_JSON,
    O_KDF_COST
};

#define CLI_OPT_HELP {"help", 'h', OPT_ARG_NONE, O_HELP}
#define CLI_OPT_KEYSTORE {"keystore", 'k', OPT_ARG_REQUIRED, O_KEYSTORE}
#define CLI_OPT_PASS_FD {"passphrase-fd", 0, OPT_ARG_REQUIRED, O_PASS_FD}
#define CLI_OPT_PASS_FILE {"passphrase-file", 0, OPT_ARG_REQUIRED, O_PASS_FILE}
#define CLI_OPT_JSON {"json", 0, OPT_ARG_NONE, O_JSON}
#define CLI_OPT_KDF_COST {"kdf-cost", 0, OPT_ARG_REQUIRED, O_KDF_COST}
#define CLI_OPT_END {NULL, 0, 0, 0}

typedef struct cli_parse {
    int argc;
    char **argv;
    int i;          /* next argv index */
    int no_more;    /* "--" seen */
    const char *cmd;
} cli_parse;

void cli_parse_init(cli_parse *p, int argc, char **argv);
/* Next item: an option id (> 0, *arg its value or NULL), 0 for a positional
 * argument (*arg), -1 at the end, -2 after printing a usage error. */
int cli_next(cli_parse *p, const cli_optdef *defs, const char **arg);
/* Parse a decimal integer in [min, max]; 0 on success. */
int cli_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                   unsigned long long *out);
/* A duration N[s|m|h|d] (no unit: seconds), 1 s to 400 days; 0 on success. */
int cli_parse_duration(const char *s, int64_t *out);

/* ---- the run of one command (run.c) */
typedef struct cli_key_seen {
    char jid[CLI_JID_MAX + 1];
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    int set;
} cli_key_seen;

typedef struct cli {
    const char *cmd;          /* for messages */
    const char *usage;        /* printed by --help and after usage errors */
    const char *ks_path;      /* NULL: the default */
    char ks_default[4096];
    int pass_fd;              /* -1 if not given */
    const char *pass_file;
    int json;
    int kdf_set;
    int kdf_from_env;         /* kdf came from ESESSIONCTL_KDF_COST */
    esession_keystore_options kdf;
    esession_ctx *ctx;
    esession_keystore *ks;
    cli_key_seen seen;        /* the last key the library asked about */
    unsigned alerts;          /* key-association alerts raised by events */
    size_t expired_events;
} cli;

void cli_begin(cli *c, const char *cmd, const char *usage);
/* Handle an option common to every command; 1 if handled, 0 if not, -1 on
 * a bad value (message printed). */
int cli_common_opt(cli *c, int id, const char *arg);
/* Print the usage on stdout (help) or stderr (error). */
int cli_help(const cli *c);
int cli_usage_error(const cli *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Create the library context (clock, events, trust hook). */
int cli_ctx(cli *c);
/* Open the keystore: with --passphrase-fd or --passphrase-file as given,
 * else with the key the agent holds for it, else asking on the terminal. */
int cli_open_keystore(cli *c);
/* Report a failed open of path (or derivation of its key); the exit code. */
int cli_open_failed(const cli *c, const char *path, esession_status st);
/* The same for a command that only reads: it sees one snapshot. */
int cli_open_keystore_read(cli *c);
const char *cli_keystore_path(cli *c);
/* An option of one command (opts.c): 0 if taken, else an exit code (message
 * printed); ids it does not know go to cli_common_opt. */
typedef int (*cli_opt_fn)(cli *c, int id, const char *arg, void *u);
/* Parse a command line: positional arguments into pos (at most npos, counted
 * in *got; got NULL: none taken), options to opt (NULL: the common ones only).
 * -1 for --help, CLI_OK, or an exit code after a message. */
int cli_parse_args(cli *c, int argc, char **argv, const cli_optdef *defs, const char **pos,
                   size_t npos, size_t *got, cli_opt_fn opt, void *u);
/* What a command returns when cli_parse_args did not give CLI_OK: the help
 * for -1, else that exit code. */
int cli_parse_exit(const cli *c, int rc);
/* Release everything the run holds; returns rc. */
int cli_end(cli *c, int rc);

/* "esessionctl CMD: message" on stderr. */
void cli_err(const cli *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void cli_warn(const cli *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Report a library failure: "what: reason (detail)"; returns its exit code. */
int cli_fail(const cli *c, esession_status st, const char *what);
int cli_exit_code(esession_status st);
/* The current time as the tool sees it: the clock (in the test tool,
 * ESESSIONCTL_NOW may move it). */
int64_t cli_now(void);

/* ---- Argon2id costs (kdf.c) */
/* min, interactive, moderate or sensitive into *o; -1 for another name. */
int cli_kdf_by_name(const char *name, esession_keystore_options *o);
/* The name of a cost, or NULL when it has none. */
const char *cli_kdf_name(uint64_t ops, uint64_t mem);
/* 1 for the weakest cost (min). */
int cli_kdf_weakest(uint64_t ops, uint64_t mem);
/* The cost from ESESSIONCTL_KDF_COST unless --kdf-cost was given (init). */
int cli_kdf_from_env(cli *c);
/* The loud warning, on stderr, when the cost being set is the weakest. */
void cli_kdf_warn(const cli *c);

/* ---- publication options (pubopts.c) */
enum {
    PO_LIFETIME = 1, /* ids 1..99 belong to the publication options */
    PO_GROUPS,
    PO_CIPHERS,
    PO_HASHES,
    PO_REKEY,
    PO_MATCH,
    PO_OPEN_NODE,
    PO_WEAK,
    PO_CREATE,
    PO_NO_CREATE,
    PO_WITHDRAWN,
    PO_ANY_RESOURCE
};

#define CLI_LIST_MAX 8

/* Alice's publication options, shared by publish and xmpp-publish (and purge
 * for --withdrawn); parsed by cli_pub_opt (pubopts.c). */
typedef struct cli_pub_opts {
    esession_publish_options po;
    int groups[CLI_LIST_MAX];
    char list_buf[2][256];
    const char *ciphers[CLI_LIST_MAX];
    const char *hashes[CLI_LIST_MAX];
    int create; /* -1 default, 0 no, 1 yes */
    int withdrawn;
    int any_resource; /* --any-resource: no match_resource, even by default */
} cli_pub_opts;

#define CLI_PUB_OPTDEFS                                                        \
    {"lifetime", 'l', OPT_ARG_REQUIRED, PO_LIFETIME},                           \
    {"groups", 0, OPT_ARG_REQUIRED, PO_GROUPS},                                 \
    {"ciphers", 0, OPT_ARG_REQUIRED, PO_CIPHERS},                               \
    {"hashes", 0, OPT_ARG_REQUIRED, PO_HASHES},                                 \
    {"rekey-freq", 0, OPT_ARG_REQUIRED, PO_REKEY},                              \
    {"match-resource", 0, OPT_ARG_REQUIRED, PO_MATCH},                          \
    {"any-resource", 0, OPT_ARG_NONE, PO_ANY_RESOURCE},                         \
    {"open-node", 0, OPT_ARG_NONE, PO_OPEN_NODE},                               \
    {"allow-weak-groups", 0, OPT_ARG_NONE, PO_WEAK}

/* Option help lines for CLI_PUB_OPTDEFS. */
#define CLI_PUB_OPTHELP                                                                 \
    "  -l, --lifetime TIME     until the options expire: N[s|m|h|d] (default 7d)\n"       \
    "  --groups LIST           MODP groups, e.g. 14,15,16 (default)\n"                    \
    "  --ciphers LIST          default aes256-ctr,aes128-ctr\n"                           \
    "  --hashes LIST           default sha256,sha512\n"                                   \
    "  --rekey-freq N          the least number of stanzas between re-keys (default 1)\n" \
    "  --match-resource RES    only this resource may read the stanzas (xmpp-publish:\n"  \
    "                          default the resource of --jid, XEP-0187 3.1)\n"          \
    "  --any-resource          let any resource read them (no match_resource)\n"        \
    "  --open-node             publish to the open node (anyone may fetch) instead of\n"  \
    "                          the node of presence subscribers\n"                        \
    "  --allow-weak-groups     allow groups 1, 2 and 5 (below 2048 bits)\n"

/* Defaults: the library's, create -1 (decide from the keystore). */
void cli_pub_opts_init(cli_pub_opts *o);
/* A cli_opt_fn for the options above (u: a cli_pub_opts); other ids go to
 * cli_common_opt. */
int cli_pub_opt(cli *c, int id, const char *arg, void *u);

/* ---- passphrases (pass.c); returned in guarded memory, freed with
 * cli_pass_free */
typedef struct cli_pass {
    char *data;
    size_t len;
} cli_pass;

/* The passphrase of an existing keystore. */
int cli_pass_get(const cli *c, cli_pass *out);
/* A new passphrase: from fd or file as given, or asked twice on the terminal. */
int cli_pass_new(const cli *c, int fd, const char *file, const char *prompt, cli_pass *out);
/* Another secret (an account password): from fd or file as given, else asked
 * once on the terminal. */
int cli_secret_read(const cli *c, int fd, const char *file, const char *prompt, cli_pass *out);
void cli_pass_free(cli_pass *p);

/* ---- input and output (io.c) */
/* Read a whole file ("-" or NULL: stdin), at most max octets; NUL-terminated. */
int cli_read_input(const cli *c, const char *path, size_t max, char **out, size_t *len);
/* Wipe the first n octets of p (plaintext, say), then free it. NULL-safe. */
void cli_free_wiped(void *p, size_t n);
/* Write all of data to fd (retrying short writes and EINTR); 0 or -1. */
int cli_write_all(int fd, const char *data, size_t len);
/* Write to stdout; a failed write is reported. */
int cli_write_stdout(const cli *c, const char *data, size_t len);
/* Flush standard output, and sync it when it is a file. */
int cli_flush_stdout(const cli *c);
/* Refuse to put a secret where others can read it: a regular file, FIFO or
 * socket behind fd with group or other permission bits (0 if fine). */
int cli_secret_fd_ok(const cli *c, int fd, const char *what);
/* Create path (O_EXCL, mode 0600) and write data; for secrets. */
int cli_write_new_file(const cli *c, const char *path, const char *data, size_t len);
/* Write a file through a temporary name and rename (mode 0600). */
int cli_write_replace(const cli *c, const char *path, const char *data, size_t len);

/* ---- formatting (fmt.c) */
/* Fingerprint as 16 groups of 4 upper-case hex digits, two spaces in the
 * middle: out holds at least CLI_FP_TEXT octets. */
#define CLI_FP_TEXT 82
void cli_fp_text(const uint8_t fp[ESESSION_FINGERPRINT_BYTES], char *out);
const char *cli_key_state_word(esession_key_state k);
const char *cli_key_state_name(esession_key_state k);
/* Lower-case hex without separators: out holds 2 * len + 1 octets. */
void cli_hex(const uint8_t *in, size_t len, char *out);
/* Parse a fingerprint or a prefix of one: hex digits, spaces and colons
 * ignored; *n is the number of hex digits read (at most 64). */
int cli_fp_parse(const char *s, uint8_t fp[ESESSION_FINGERPRINT_BYTES], size_t *n);
int cli_fp_prefix_match(const uint8_t fp[ESESSION_FINGERPRINT_BYTES], const uint8_t *want,
                        size_t ndigits);
/* XEP-0082 UTC date-time "YYYY-MM-DDThh:mm:ssZ": out holds 32 octets. */
void cli_time_text(int64_t t, char *out, size_t n);
/* A bare or full JID: the library's rule (esession_jid_check). */
int cli_bare_jid_ok(const char *jid);
int cli_full_jid_ok(const char *jid);

/* JSON output to a FILE (an escaper for strings, nothing else). */
void json_str(FILE *f, const char *s);
void json_strn(FILE *f, const char *s, size_t n);
void json_key(FILE *f, int *first, const char *key);

/* XML text escaping for element text and attribute values. */
int cli_xml_escape(const char *s, size_t n, int attr, char **out, size_t *outlen);

/* ---- a small scanner of serialized XML elements (xmlscan.c) */
typedef struct xs_elem {
    size_t start;     /* offset of '<' of the start tag */
    size_t inner;     /* offset just after the start tag */
    size_t inner_end; /* offset of the end tag ('<' of "</"), = inner if empty */
    size_t end;       /* offset just after the element */
    int empty;        /* <x/> */
} xs_elem;

/* Split text into top-level elements (whitespace between them only).
 * Returns the count or -1 (malformed); fills at most max. */
int xs_split(const char *text, size_t len, xs_elem *out, size_t max);
/* The first descendant of elem (inner range) named local (any prefix),
 * searching depth-first; 1 if found. */
int xs_find(const char *text, const xs_elem *parent, const char *local, xs_elem *out);
/* The value of attribute name in the start tag of e, unescaped only for the
 * five predefined entities; 1 if found. */
int xs_attr(const char *text, const xs_elem *e, const char *name, char *out, size_t n);

/* ---- option sets (cmd_offline.c), read through the public listing */
/* "offered", "withdrawn" or "destroyed" (its exponents are gone). */
const char *cli_optset_state(const esession_optset_info *info);
/* All option sets of the open keystore of c, in *out (free() it); *n may
 * be 0 (then *out is NULL). On failure the message is printed. */
int cli_optsets_read(cli *c, esession_optset_info **out, size_t *n);

/* 'purge --withdrawn' on the open keystore of c (for 'open --done'). */
int cli_queue_done(cli *c);
/* Bob's side (cmd_seal.c), for seal and xmpp-send. */
/* Explain why esession_sender_start failed; the exit code. */
int cli_start_failed(cli *c, esession_status st, const char *to);
/* A text message becomes a chat <message/> to `to` with a <body> (free()). */
int cli_text_message(cli *c, const char *to, const char *text, size_t len, char **out,
                     size_t *outlen);
/* A key from text: a normalized <KeyValue> or PEM (public or private). */
esession_status cli_key_from_text(esession_ctx *ctx, const char *text, size_t len,
                                  esession_key **out);

/* Read a key from path (NULL or "-": stdin; at most 1 MiB) and wipe the text:
 * a PKCS#8 PEM private key if pem_only, else as cli_key_from_text; with fp,
 * its fingerprint too. CLI_OK with *st the library's answer (*k for the
 * caller to free), or the exit code of a failed read. */
int cli_read_key(const cli *c, const char *path, int pem_only, esession_key **k,
                 uint8_t fp[ESESSION_FINGERPRINT_BYTES], esession_status *st);

#endif
