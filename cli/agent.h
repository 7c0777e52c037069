/* SPDX-License-Identifier: ISC */
/* The passphrase agent: one background process per user that holds the
 * keys derived from keystore passphrases (esession_keystore_derive_key),
 * each for a limited time, and hands them to esessionctl commands of the
 * same user over a UNIX socket in a private directory. Never the
 * passphrase, never on disk. docs/esessionctl.1, agent.
 *
 * Why not the kernel keyring: it is Linux's alone and one more library
 * (keyutils); which keyring a command sees depends on how its session was
 * set up (a terminal multiplexer, su, a desktop's terminals may each have
 * their own), so "once per login session" would not hold; and it offers
 * nothing a process of the same user could not also read. A socket in
 * $XDG_RUNTIME_DIR is per user, gone at logout, and portable. */
#ifndef ESESSIONCTL_AGENT_H
#define ESESSIONCTL_AGENT_H

#include "cli.h"

#include <sys/types.h>

#define AGENT_PATH_MAX 4096u
#define AGENT_KEYS_MAX 64u
#define AGENT_TIMEOUT_DEFAULT (15 * 60)
#define AGENT_TIMEOUT_MAX (24 * 3600)

/* Requests: a header (magic, op, body length), then the body. */
enum {
    AGENT_ADD = 'A',    /* u32 seconds, key, path: hold key for path */
    AGENT_GET = 'G',    /* path: the key held for it */
    AGENT_FORGET = 'F', /* path: drop its key */
    AGENT_LIST = 'L',   /* "SECONDS\tPATH\n" for each key held */
    AGENT_STOP = 'S'    /* drop every key and exit */
};
/* Replies: the same header with a result instead of an op. */
enum { AGENT_R_OK = 0, AGENT_R_NONE = 1, AGENT_R_BAD = 2 };

#define AGENT_HDR_BYTES 8u
#define AGENT_BODY_MAX (4u + ESESSION_KEYSTORE_KEY_BYTES + AGENT_PATH_MAX)

/* Where the agent listens: $XDG_RUNTIME_DIR/esession/agent.sock, else
 * ${TMPDIR:-/tmp}/esession-agent-UID/agent.sock. */
typedef struct agent_where {
    char dir[4096];
    char sock[108]; /* sun_path */
} agent_where;

/* The paths (nothing created); -1 with a message if they do not fit. */
int agent_where_get(const cli *c, agent_where *w);
/* The directory is ours alone: a real directory (not a link), owned by
 * this user, no access for group or others. 0 yes, 1 missing, -1 no
 * (message printed when c is not NULL). With create, make it first. */
int agent_dir_ok(const cli *c, const agent_where *w, int create);

/* ---- the wire (agent_client.c) */
/* All of n octets, retrying short transfers and EINTR: 0 or -1. */
int agent_write_all(int fd, const void *p, size_t n);
int agent_read_all(int fd, void *p, size_t n);
void agent_hdr_put(uint8_t h[AGENT_HDR_BYTES], int code, size_t len);
/* -1 unless the magic is right and len at most AGENT_BODY_MAX. */
int agent_hdr_get(const uint8_t h[AGENT_HDR_BYTES], int *code, size_t *len);

/* ---- the client side (agent_client.c) */
/* Connect to the running agent of this user: the socket, or -1 when none
 * answers. Its peer must run as this user; *pid is the agent's. */
int agent_connect(const cli *c, const agent_where *w, pid_t *pid);
/* One request on a connected socket (closed by the call). body parts: a
 * (ordinary), key (guarded, may be NULL), b (ordinary). A reply body of
 * key_len octets goes to key_out (guarded memory), any other to *text
 * (malloc'ed, NUL-terminated; NULL to refuse one). Returns the reply code
 * (AGENT_R_*), or -1 if the exchange failed. */
int agent_request(int fd, int op, const void *a, size_t alen, const uint8_t *key,
                  const void *b, size_t blen, uint8_t *key_out, char **text);
/* The canonical path of a keystore, as the agent knows it (realpath). */
int agent_canon(const char *path, char out[AGENT_PATH_MAX]);
/* The key held for path, into key (guarded memory): 1 found, 0 not (no
 * agent, no key, or an agent that does not answer). */
int agent_key_get(const cli *c, const char *path, uint8_t *key);
/* Drop the key held for path, if any agent holds one: 1 dropped, 0 not. */
int agent_key_forget(const cli *c, const char *path);

/* ---- the agent process (agent_proc.c) */
/* Fork the agent, to listen on lfd (bound to w->sock), holding key (ESESSION_KEYSTORE_KEY_BYTES
 * in guarded memory, readable; the agent copies it into its own and wipes
 * the copy it inherited) for canon during seconds. In the caller: 0 once
 * the agent is ready (*pid set), else -1 with a message. The agent never
 * returns. */
int agent_spawn(const cli *c, const agent_where *w, int lfd, const char *canon, uint8_t *key,
                uint32_t seconds, pid_t *pid);
/* What every process holding keys does first: no core file, no ptrace
 * attach by other processes of this user. */
void agent_harden(void);

#endif
