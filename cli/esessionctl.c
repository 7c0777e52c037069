/* SPDX-License-Identifier: ISC */
/* esessionctl: keys, trust and offline sessions from the command line.
 * One table names every command; each lives in the file of its group. */
#include "cli.h"

#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <string.h>

typedef struct command {
    const char *name;
    cli_fn fn;
    const char *help;
    const char *group; /* starts a group in the help listing, or NULL */
} command;

static const command commands[] = {
    {"init", cmd_init, "Create a keystore (passphrase asked twice)", "Keystore"},
    {"passwd", cmd_passwd, "Change the keystore passphrase", NULL},
    {"status", cmd_status, "Show what the keystore holds", NULL},
    {"agent", cmd_agent, "Ask the passphrase once: an agent holds the keystore's key for a while",
     NULL},
    {"genkey", cmd_genkey, "Generate a signing key (rsa 2048|3072|4096, dsa 2048|3072)",
     "Signing keys"},
    {"keys", cmd_keys, "List the signing keys", NULL},
    {"fingerprint", cmd_fingerprint, "Show the fingerprint of a public key read from a file or stdin",
     NULL},
    {"export", cmd_export, "Export a public key (<KeyValue> or PEM) or, explicitly, a private key",
     NULL},
    {"import", cmd_import, "Import a private key (PKCS#8 PEM)", NULL},
    {"delkey", cmd_delkey, "Delete a signing key", NULL},
    {"trust", cmd_trust, "Trust a peer's public key for a bare JID", "Trust"},
    {"peers", cmd_peers, "List the trusted keys", NULL},
    {"verify", cmd_verify, "Mark a trusted key as verified out of band (or not)", NULL},
    {"untrust", cmd_untrust, "Remove a trusted key", NULL},
    {"publish", cmd_publish, "Create an offline option set and print its PEP IQs",
     "Offline options (Alice)"},
    {"online", cmd_online, "Withdraw the offline options: print the empty-item IQ", NULL},
    {"optsets", cmd_optsets, "List the option sets: state, expiry, sessions accepted", NULL},
    {"purge", cmd_purge, "Destroy expired (and, with --withdrawn, withdrawn) option sets", NULL},
    {"fetch", cmd_fetch, "Print the PEP request for a contact's offline options", "Sending (Bob)"},
    {"seal", cmd_seal, "Encrypt messages for an offline contact and print the stanzas", NULL},
    {"terminate", cmd_terminate, "End the session with a contact and print its last stanza", NULL},
    {"open", cmd_open, "Open received stanzas: plaintext and metadata", "Receiving (Alice)"},
    {"xmpp-publish", cmd_xmpp_publish, "Log in and publish offline options (PEP), before going offline",
     "Over a real XMPP server"},
    {"xmpp-send", cmd_xmpp_send, "Log in, fetch a contact's options and send encrypted messages",
     NULL},
    {"xmpp-receive", cmd_xmpp_receive, "Log in, withdraw the options, open what the server stored",
     NULL},
    {"xmpp-chat", cmd_xmpp_chat, "Log in and chat with a contact who is online (online ESession)",
     NULL},
    {"xmpp-raw", cmd_xmpp_raw, "Log in and send stanzas printed by the commands above", NULL},
#ifdef ESESSIONCTL_TESTING
    /* The test tool only: never in the installed esessionctl. */
    {"server", cmd_server, "File-backed stand-in for a server's PEP node and offline store",
     "Testing"},
#endif
};

static void list_commands(FILE *f)
{
    fprintf(f, "Usage: esessionctl <command> [options] [arguments]\n"
               "       esessionctl <command> --help\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (commands[i].group != NULL)
            fprintf(f, "\n%s:\n", commands[i].group);
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    }
    fprintf(f, "\nOther:\n  %-12s %s\n  %-12s %s\n", "help", "Show this list (--list: names only; --all: every usage)",
            "version", "Show the versions of the tool and of libesession");
    fprintf(f, "\nSee esessionctl(1). Exit status: 0 success, 1 usage, 2 keystore or passphrase,\n"
               "3 trust or verification, 4 input rejected, 5 input/output, 6 conflict or not\n"
               "found, 7 internal error.\n");
}

static int help_main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            printf("%s\n", commands[i].name);
        printf("help\nversion\n");
        return fflush(stdout) == 0 ? CLI_OK : CLI_EXIT_IO;
    }
    if (argc == 2 && strcmp(argv[1], "--all") == 0) {
        int rc = CLI_OK;
        for (size_t i = 0; rc == CLI_OK && i < sizeof commands / sizeof commands[0]; i++) {
            char name[32], help[] = "--help";
            snprintf(name, sizeof name, "%s", commands[i].name);
            char *sub[] = {name, help, NULL};
            printf("%s== %s\n", i ? "\n" : "", commands[i].name);
            rc = commands[i].fn(2, sub);
        }
        return rc;
    }
    if (argc == 2 && strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h") != 0) {
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
            if (strcmp(argv[1], commands[i].name) == 0) {
                char help[] = "--help";
                char *sub[] = {argv[1], help, NULL};
                return commands[i].fn(2, sub);
            }
        }
        fprintf(stderr, "esessionctl help: unknown command '%s'\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    if (argc > 2) {
        fprintf(stderr, "Usage: esessionctl help [--list | --all | COMMAND]\n");
        return CLI_EXIT_USAGE;
    }
    list_commands(stdout);
    return fflush(stdout) == 0 ? CLI_OK : CLI_EXIT_IO;
}

static int version_main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("Usage: esessionctl version\nPrint the versions of esessionctl and of libesession.\n");
        return fflush(stdout) == 0 ? CLI_OK : CLI_EXIT_IO;
    }
    if (argc > 1) {
        fprintf(stderr, "Usage: esessionctl version\n");
        return CLI_EXIT_USAGE;
    }
    printf("esessionctl %s (libesession %s)\n", ESESSION_VERSION_STRING, esession_version());
    return fflush(stdout) == 0 ? CLI_OK : CLI_EXIT_IO;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        list_commands(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return help_main(argc - 1, argv + 1);
    if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0)
        return version_main(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "esessionctl: '%s' is not a command; see 'esessionctl help'\n", name);
    return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    /* Keys, passphrases and messages in the clear must not end up in a
     * core file, nor be read by another process of the same user through
     * ptrace or /proc/PID/mem. */
    struct rlimit none = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &none);
#ifdef __linux__
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
    /* The private integers OpenSSL holds for a signing key in locked,
     * non-dumpable pages; without it they are only cleared when freed. */
    esession_status heap = esession_secure_heap_init(256u * 1024u, NULL);
    (void)heap;
    return dispatch(argc, argv);
}
