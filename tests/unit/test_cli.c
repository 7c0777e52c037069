/* SPDX-License-Identifier: ISC */
/* esessionctl end to end: the built tool is run (fork, exec, pipes) the
 * way a person or a script would, and its outputs, files and exit codes
 * are checked. The binary is $ESESSIONCTL, else the esessionctl beside the
 * tests/ directory of this test binary, else build/esessionctl; the test
 * tool (the server stand-in, the ESESSIONCTL_NOW clock) is
 * $ESESSIONCTL_TEST, else tests/esessionctl-test beside it. Keystores
 * use the cheapest KDF cost, and the tests are few and grouped: each run
 * of the tool costs a process (and, under valgrind, a valgrind). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "esession.h"

#include "../common/vecfile.h"
#include "../../store/record.h"
#include "fixture.h"

#define PASS_A "alice passphrase"
#define PASS_B "bob passphrase"
#define ALICE "alice@example.org"
#define BOB "bob@example.com"
#define BOB_FULL "bob@example.com/laptop"

/* Exit codes of esessionctl(1). */
enum { CX_OK = 0, CX_USAGE = 1, CX_KEYSTORE = 2, CX_TRUST = 3, CX_REJECTED = 4, CX_IO = 5 };

static const char *tool(void)
{
    static char path[4096];
    const char *e = getenv("ESESSIONCTL");
    if (e != NULL && e[0] != '\0')
        return e;
    if (path[0] != '\0')
        return path;
    /* BUILD/tests/test_cli -> BUILD/esessionctl: the sanitizer build finds
     * its own tool. */
    char self[4000];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        for (int i = 0; i < 2; i++) {
            char *slash = strrchr(self, '/');
            if (slash != NULL)
                *slash = '\0';
        }
        snprintf(path, sizeof path, "%s/esessionctl", self);
        if (access(path, X_OK) == 0)
            return path;
    }
    snprintf(path, sizeof path, "build/esessionctl");
    return path;
}

/* The test tool: the same commands plus the server stand-in and the
 * clock override, which the installed tool does not have. */
static const char *test_tool(void)
{
    static char path[4200];
    const char *e = getenv("ESESSIONCTL_TEST");
    if (e != NULL && e[0] != '\0')
        return e;
    if (path[0] == '\0') {
        const char *t = tool();
        const char *slash = strrchr(t, '/');
        int n = slash != NULL ? (int)(slash - t + 1) : 0;
        snprintf(path, sizeof path, "%.*stests/esessionctl-test", n, t);
    }
    return path;
}

/* ---- running the tool */

typedef struct run {
    int status;   /* exit code, or 128 + signal */
    char *out, *err;
    size_t out_len, err_len;
} run;

typedef struct run_opts {
    const char *in;       /* standard input (NULL: empty) */
    const char *out_file; /* standard output to this file (mode 644), not a pipe */
    const char *env;      /* one NAME=VALUE to add, or NULL */
} run_opts;

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
    char *nb = realloc(*buf, *len + n + 1);
    cr_assert_not_null(nb);
    memcpy(nb + *len, data, n);
    *len += n;
    nb[*len] = '\0';
    *buf = nb;
}

/* Sanitizer or valgrind reports of the tool itself are failures, whatever
 * its exit code. */
static void no_checker_reports(const run *r, const char *what)
{
    const char *e = r->err ? r->err : "";
    cr_assert_null(strstr(e, "AddressSanitizer"), "%s: %s", what, e);
    cr_assert_null(strstr(e, "runtime error:"), "%s: %s", what, e);
    cr_assert_null(strstr(e, "LeakSanitizer"), "%s: %s", what, e);
    for (const char *p = strstr(e, "=="); p != NULL; p = strstr(p + 2, "==")) {
        const char *q = p + 2;
        while (*q >= '0' && *q <= '9')
            q++;
        cr_assert(!(q > p + 2 && q[0] == '=' && q[1] == '='), "%s: valgrind: %s", what, e);
    }
}

static void run_argv(run *r, const run_opts *o, char *const argv[])
{
    int in[2], out[2], err[2];
    memset(r, 0, sizeof *r);
    cr_assert_eq(pipe(in), 0);
    cr_assert_eq(pipe(out), 0);
    cr_assert_eq(pipe(err), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        /* No controlling terminal: a passphrase prompt fails at once
         * ("no terminal") instead of waiting on the terminal of make. */
        (void)setsid();
        dup2(in[0], 0);
        if (o != NULL && o->out_file != NULL) {
            int fd = open(o->out_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0)
                _exit(120);
            fchmod(fd, 0644);
            dup2(fd, 1);
            close(fd);
        } else {
            dup2(out[1], 1);
        }
        dup2(err[1], 2);
        for (int fd = 3; fd < 64; fd++)
            close(fd);
        if (o != NULL && o->env != NULL) {
            char name[64];
            const char *eq = strchr(o->env, '=');
            if (eq == NULL || (size_t)(eq - o->env) >= sizeof name)
                _exit(121);
            memcpy(name, o->env, (size_t)(eq - o->env));
            name[eq - o->env] = '\0';
            setenv(name, eq + 1, 1);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    const char *input = o != NULL && o->in != NULL ? o->in : "";
    size_t in_left = strlen(input);
    signal(SIGPIPE, SIG_IGN);
    if (in_left == 0) {
        close(in[1]);
        in[1] = -1;
    }
    int open_out = 1, open_err = 1;
    while (open_out || open_err || in[1] >= 0) {
        struct pollfd p[3] = {{in[1], POLLOUT, 0}, {open_out ? out[0] : -1, POLLIN, 0},
                              {open_err ? err[0] : -1, POLLIN, 0}};
        cr_assert(poll(p, 3, -1) >= 0 || errno == EINTR);
        if (in[1] >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(in[1], input, in_left);
            if (w > 0) {
                input += w;
                in_left -= (size_t)w;
            }
            if (w <= 0 || in_left == 0) {
                close(in[1]);
                in[1] = -1;
            }
        }
        char buf[8192];
        for (int k = 1; k <= 2; k++) {
            if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(p[k].fd, buf, sizeof buf);
            if (n > 0 && k == 1)
                append(&r->out, &r->out_len, buf, (size_t)n);
            else if (n > 0)
                append(&r->err, &r->err_len, buf, (size_t)n);
            else if (k == 1)
                open_out = 0;
            else
                open_err = 0;
        }
    }
    close(out[0]);
    close(err[0]);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (r->out == NULL)
        append(&r->out, &r->out_len, "", 0);
    if (r->err == NULL)
        append(&r->err, &r->err_len, "", 0);
    no_checker_reports(r, argv[1]);
}

static void run_list(run *r, const run_opts *o, const char *bin, va_list ap)
{
    char *argv[64];
    size_t n = 0;
    argv[n++] = (char *)(uintptr_t)bin;
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        cr_assert_lt(n, 63);
        argv[n++] = (char *)(uintptr_t)a;
    }
    argv[n] = NULL;
    run_argv(r, o, argv);
}

/* Run the tool with NULL-terminated arguments. */
static void ctl(run *r, const run_opts *o, ...)
{
    va_list ap;
    va_start(ap, o);
    run_list(r, o, tool(), ap);
    va_end(ap);
}

/* The same with the test tool. */
static void ctl_test(run *r, const run_opts *o, ...)
{
    va_list ap;
    va_start(ap, o);
    run_list(r, o, test_tool(), ap);
    va_end(ap);
}

#define EXPECT(r, code)                                                                          \
    cr_assert_eq((r)->status, (code), "exit %d, expected %d\nstdout: %s\nstderr: %s",            \
                 (r)->status, (code), (r)->out, (r)->err)

/* ---- files */

typedef struct tdir {
    char path[64];
} tdir;

static void tdir_make(tdir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/esessionctl-test-XXXXXX");
    cr_assert_not_null(mkdtemp(d->path));
}

static void rm_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *e;
        while (dir != NULL && (e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_tree(sub);
        }
        if (dir != NULL)
            closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static const char *at(const tdir *d, const char *name)
{
    /* A few rotating buffers, so several paths can be used in one call. */
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 256, "%s/%s", d->path, name);
    return b;
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(fchmod(fd, mode), 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static char *read_all(const char *path, size_t *len)
{
    char *t = vec_read_file(path, len);
    cr_assert_not_null(t, "cannot read %s", path);
    return t;
}

static json_t *parse_json(const run *r)
{
    json_error_t e;
    json_t *j = json_loads(r->out, 0, &e);
    cr_assert_not_null(j, "not JSON (%s at %d): %s", e.text, e.line, r->out);
    return j;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    cr_assert_not_null(s, "no string \"%s\" in %s", key, json_dumps(o, 0));
    return s;
}

/* How many files in dir end with suffix. */
static size_t files_ending(const char *dir, const char *suffix)
{
    size_t n = 0, k = strlen(suffix);
    DIR *dh = opendir(dir);
    cr_assert_not_null(dh, "%s: %s", dir, strerror(errno));
    for (struct dirent *e; (e = readdir(dh)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len >= k && strcmp(e->d_name + len - k, suffix) == 0)
            n++;
    }
    closedir(dh);
    return n;
}

/* The one option set of an optsets --json listing of n. */
static json_t *one_optset(const run *r, size_t n, size_t i)
{
    json_t *j = parse_json(r);
    cr_assert_eq(json_array_size(j), n, "%s", r->out);
    json_t *set = json_incref(json_array_get(j, i));
    json_decref(j);
    return set;
}

/* A keystore with a passphrase file beside it and a fixture key in it. */
static void keystore(const tdir *d, const char *name, const char *pass, const char *pem)
{
    char ks[256], pf[256];
    snprintf(ks, sizeof ks, "%s/%s.ks", d->path, name);
    snprintf(pf, sizeof pf, "%s/%s.pass", d->path, name);
    char line[128];
    snprintf(line, sizeof line, "%s\n", pass);
    write_file(pf, line, strlen(line), 0600);
    run r;
    ctl(&r, NULL, "init", "-k", ks, "--kdf-cost", "min", "--passphrase-file", pf, NULL);
    EXPECT(&r, CX_OK);
    cr_assert_eq(r.out_len, 0, "init is quiet: %s", r.out);
    cr_assert_not_null(strstr(r.err, "WARNING: --kdf-cost min: the weakest Argon2id cost"), "%s",
                       r.err);
    run_free(&r);
    if (pem != NULL) {
        ctl(&r, NULL, "import", "-k", ks, "--passphrase-file", pf, pem, NULL);
        EXPECT(&r, CX_OK);
        cr_assert_not_null(strstr(r.out, "rsa 2048") ? r.out : strstr(r.out, "dsa 2048"));
        run_free(&r);
    }
}

/* The same, made in this process through the library: for the parties a
 * test needs but does not examine, so that the tool runs only where it is
 * under test. trust_jid, if not NULL, gets the key of trust_pem. */
static void keystore_lib(const tdir *d, const char *name, const char *pass, const char *pem,
                         const char *trust_jid, const char *trust_pem)
{
    char ks[256], pf[256], line[128];
    snprintf(ks, sizeof ks, "%s/%s.ks", d->path, name);
    snprintf(pf, sizeof pf, "%s/%s.pass", d->path, name);
    snprintf(line, sizeof line, "%s\n", pass);
    write_file(pf, line, strlen(line), 0600);
    esession_ctx *ctx = NULL;
    esession_keystore *k = NULL;
    esession_key *key = NULL;
    esession_keystore_options o = ESESSION_KEYSTORE_OPTIONS_INIT;
    o.kdf_opslimit = 1;
    o.kdf_memlimit = 8192;
    ctx = fx_ctx_new();
    cr_assert_eq(esession_keystore_create(ctx, &k, ks, pass, strlen(pass), &o), ESESSION_OK);
    char *text = read_all(pem, NULL);
    cr_assert_eq(esession_key_from_pem(ctx, &key, text, strlen(text)), ESESSION_OK);
    cr_assert_eq(esession_keystore_add_key(k, key), ESESSION_OK);
    free(text);
    esession_key_free(key);
    if (trust_jid != NULL) {
        unsigned alerts = 0;
        text = read_all(trust_pem, NULL);
        cr_assert_eq(esession_key_from_pem(ctx, &key, text, strlen(text)), ESESSION_OK);
        cr_assert_eq(esession_trust_add(k, trust_jid, key, "", &alerts), ESESSION_OK);
        free(text);
        esession_key_free(key);
    }
    esession_keystore_free(k);
    esession_ctx_free(ctx);
}

/* The fingerprint of a PEM key, as lower-case hex. */
static void fingerprint_hex(const char *pem, char out[65])
{
    esession_ctx *ctx = NULL;
    esession_key *key = NULL;
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    ctx = fx_ctx_new();
    char *text = read_all(pem, NULL);
    cr_assert_eq(esession_key_from_pem(ctx, &key, text, strlen(text)), ESESSION_OK);
    cr_assert_eq(esession_key_fingerprint(ctx, key, fp), ESESSION_OK);
    for (size_t i = 0; i < sizeof fp; i++)
        snprintf(out + 2 * i, 3, "%02x", fp[i]);
    free(text);
    esession_key_free(key);
    esession_ctx_free(ctx);
}

#define KS(d, name) "-k", at(d, name ".ks"), "--passphrase-file", at(d, name ".pass")

/* ---- the man page knows every command, option and exit status */

static char *man_page(void)
{
    return read_all("docs/esessionctl.1", NULL);
}

Test(cli, every_command_option_and_exit_status_is_in_the_man_page)
{
    char *man = man_page();
    run r;
    ctl(&r, NULL, "help", "--list", NULL);
    EXPECT(&r, CX_OK);
    size_t commands = 0;
    char *save = NULL;
    for (char *name = strtok_r(r.out, "\n", &save); name != NULL; name = strtok_r(NULL, "\n", &save)) {
        char want[96] = "\n.SS ";
        size_t k = strlen(want);
        for (const char *c = name; *c != '\0' && k < sizeof want - 4; c++) {
            if (*c == '-') /* roff: a hyphen in a name is written \- */
                want[k++] = '\\';
            want[k++] = *c;
        }
        memcpy(want + k, "\n", 2);
        cr_assert_not_null(strstr(man, want), "command '%s' is not in docs/esessionctl.1", name);
        commands++;
    }
    cr_assert_geq(commands, 20);
    run_free(&r);

    /* Every long option any command's usage shows. */
    ctl(&r, NULL, "help", "--all", NULL);
    EXPECT(&r, CX_OK);
    size_t options = 0;
    for (const char *p = strstr(r.out, "--"); p != NULL; p = strstr(p + 2, "--")) {
        const char *q = p + 2;
        char esc[128] = "\\-\\-";
        size_t k = strlen(esc);
        while (((*q >= 'a' && *q <= 'z') || *q == '-') && k < sizeof esc - 3) {
            if (*q == '-')
                esc[k++] = '\\';
            esc[k++] = *q++;
        }
        esc[k] = '\0';
        if (q == p + 2)
            continue;
        cr_assert_not_null(strstr(man, esc), "option '%.*s' is not in docs/esessionctl.1",
                           (int)(q - p), p);
        options++;
    }
    cr_assert_geq(options, 40);
    run_free(&r);

    const char *status = strstr(man, "\n.SH EXIT STATUS\n");
    cr_assert_not_null(status);
    for (int code = 0; code <= 7; code++) {
        char want[32];
        snprintf(want, sizeof want, "\n.TP\n.B %d\n", code);
        cr_assert_not_null(strstr(status, want), "exit status %d is not documented", code);
    }
    free(man);

    ctl(&r, NULL, "no-such-command", "--help", NULL);
    EXPECT(&r, CX_USAGE);
    cr_assert_not_null(strstr(r.err, "not a command"));
    cr_assert_eq(r.out_len, 0);
    run_free(&r);

    /* The server stand-in is the test tool's alone. */
    ctl(&r, NULL, "server", "-d", "/nonexistent", "queue", ALICE, NULL);
    EXPECT(&r, CX_USAGE);
    cr_assert_not_null(strstr(r.err, "'server' is not a command"), "%s", r.err);
    run_free(&r);
    ctl_test(&r, NULL, "help", "--list", NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, "\nserver\n"), "%s", r.out);
    run_free(&r);
}

/* ---- the xmpp-* commands: what can be checked without a server (the
 * flows through real servers are tests/xmpp/run.sh) */

/* A loopback port nobody listens on: bound, then released. */
static unsigned closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

Test(cli, xmpp_commands_refuse_bad_arguments_and_report_a_refused_connection)
{
    tdir d;
    tdir_make(&d);
    write_file(at(&d, "pw"), "secret\n", 7, 0600);
    write_file(at(&d, "m.xml"), "<message to='a@localhost'/>", 27, 0600);
    static const struct {
        const char *args[8];
        const char *says;
    } bad[] = {
        {{"xmpp-raw", "m.xml"}, "--jid is required"},
        {{"xmpp-raw", "-j", "not a jid", "m.xml"}, "is not a JID"},
        {{"xmpp-raw", "-j", "a@localhost"}, "no FILE"},
        {{"xmpp-send", "-j", "b@localhost", "--port", "70000", "a@localhost"}, "--port"},
        {{"xmpp-send", "-j", "b@localhost", "a@localhost/res"}, "not a bare JID"},
        {{"xmpp-receive", "-j", "a@localhost", "--mode", "imap"}, "--mode"},
        {{"xmpp-receive", "-j", "a@localhost", "--password-fd", "0", "--password-file", "pw"},
         "not both"},
        {{"xmpp-publish", "-j", "a@localhost", "--lifetime", "forever"}, "--lifetime"},
        {{"xmpp-chat", "-j", "a@localhost"}, "the contact's JID is required"},
        {{"xmpp-chat", "-j", "a@localhost", "b@localhost", "c@localhost"}, "unexpected argument"},
        {{"xmpp-chat", "-j", "a@localhost/x", "A@localhost/y"}, "your own account"},
        {{"xmpp-chat", "-j", "a@localhost", "b@local host"}, "is not a JID"},
        {{"xmpp-chat", "-j", "a@localhost", "--rekey-every", "-1", "b@localhost"},
         "--rekey-every"},
    };
    run r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[12] = {(char *)(uintptr_t)tool()};
        size_t n = 1;
        for (size_t k = 0; k < 8 && bad[i].args[k] != NULL; k++)
            argv[n++] = (char *)(uintptr_t)(strcmp(bad[i].args[k], "m.xml") == 0 ||
                                                     strcmp(bad[i].args[k], "pw") == 0
                                                 ? at(&d, bad[i].args[k])
                                                 : bad[i].args[k]);
        run_argv(&r, NULL, argv);
        EXPECT(&r, CX_USAGE);
        cr_assert_not_null(strstr(r.err, bad[i].says), "%s: %s", bad[i].args[0], r.err);
        run_free(&r);
    }

    /* Nobody listens: a clear failure, exit status 5, nothing printed. */
    char port[16];
    snprintf(port, sizeof port, "%u", closed_port());
    ctl(&r, NULL, "xmpp-raw", "-j", "a@localhost", "--password-file", at(&d, "pw"), "--host",
        "127.0.0.1", "--port", port, "--timeout", "5", at(&d, "m.xml"), NULL);
    EXPECT(&r, CX_IO);
    cr_assert_not_null(strstr(r.err, "a@localhost"), "%s", r.err);
    cr_assert_eq(r.out_len, 0);
    run_free(&r);
    rm_tree(d.path);
}

/* ---- the keystore: wrong passphrase, damage, secrets, passphrase change */

/* The keystore is an SQLite database in WAL mode: while a process has it
 * open, committed changes may sit in its -wal file. Compared only once
 * the tool has exited (and closing checkpoints and removes the journal),
 * the database file is the whole keystore. */
static int exists_with(const char *path, const char *suffix)
{
    char p[512];
    snprintf(p, sizeof p, "%s%s", path, suffix);
    return access(p, F_OK) == 0;
}

static void assert_same_file(const char *path, const char *before, size_t len)
{
    cr_assert_not(exists_with(path, "-wal"), "%s-wal left behind", path);
    cr_assert_not(exists_with(path, "-journal"), "%s-journal left behind", path);
    size_t n;
    char *now = read_all(path, &n);
    cr_assert(n == len && memcmp(now, before, len) == 0, "%s was changed", path);
    free(now);
}

/* Where in the database file the ciphertext of the first record of kind
 * begins: its first 32 octets (version and nonce), read through SQLite
 * without touching the file (immutable), found once in the file. */
static size_t record_offset(const char *path, const char *file, size_t len, int kind)
{
    char uri[600];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    snprintf(uri, sizeof uri, "file:%s?immutable=1", path);
    cr_assert_eq(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT data FROM record WHERE kind = ?1", -1, &st, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_bind_int(st, 1, kind), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "no record of kind %d", kind);
    uint8_t head[32];
    cr_assert_geq(sqlite3_column_bytes(st, 0), (int)sizeof head);
    memcpy(head, sqlite3_column_blob(st, 0), sizeof head);
    sqlite3_finalize(st);
    sqlite3_close(db);
    size_t at = len, found = 0;
    for (size_t i = 0; i + sizeof head <= len; i++)
        if (memcmp(file + i, head, sizeof head) == 0) {
            at = i;
            found++;
        }
    cr_assert_eq(found, 1, "the record's start is in the file %zu times", found);
    return at;
}

/* A damaged copy of a keystore (name in d, holding data) is refused: a
 * keystore error (2) or an I/O error (5) depending on where the damage
 * lands, an error message naming the file, nothing on standard output,
 * and the file left as it was. */
static void expect_refused_damage(const tdir *d, const char *name, const char *data, size_t len,
                                  const char *genuine)
{
    write_file(at(d, name), data, len, 0600);
    run r;
    ctl(&r, NULL, "keys", "-k", at(d, name), "--passphrase-file", at(d, "a.pass"), NULL);
    /* A cut that took only pages this command does not read may leave it
     * working: then its answer must be the genuine one, never another. */
    if (genuine != NULL && r.status == CX_OK) {
        cr_assert_str_eq(r.out, genuine, "%s: a different answer", name);
        run_free(&r);
        return;
    }
    cr_assert(r.status == CX_KEYSTORE || r.status == CX_IO,
              "%s: exit %d, expected %d or %d\nstdout: %s\nstderr: %s", name, r.status,
              CX_KEYSTORE, CX_IO, r.out, r.err);
    cr_assert_not_null(strstr(r.err, name), "%s: the message does not name the file: %s", name,
                       r.err);
    cr_assert_eq(r.out_len, 0, "%s: %s", name, r.out);
    run_free(&r);
    assert_same_file(at(d, name), data, len);
}

Test(cli, keystore_refuses_wrong_passphrase_damage_and_readable_secrets)
{
    tdir d;
    tdir_make(&d);
    keystore(&d, "a", PASS_A, "tests/data/vec_rsa_alice.pem");
    struct stat sb;
    cr_assert_eq(stat(at(&d, "a.ks"), &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);

    /* Passphrase on the first line of stdin (--passphrase-fd 0); JSON. */
    run r;
    run_opts o = {PASS_A "\n", NULL, NULL};
    ctl(&r, &o, "status", "-k", at(&d, "a.ks"), "--passphrase-fd", "0", "--json", NULL);
    EXPECT(&r, CX_OK);
    json_t *j = parse_json(&r);
    cr_assert_eq(json_integer_value(json_object_get(j, "keys")), 1);
    cr_assert_eq(json_integer_value(json_object_get(j, "peers")), 0);
    json_t *kdf = json_object_get(j, "kdf");
    cr_assert_eq(json_integer_value(json_object_get(kdf, "opslimit")), 1);
    cr_assert_str_eq(jstr(kdf, "cost"), "min");
    cr_assert(json_is_true(json_object_get(kdf, "weakest")));
    cr_assert_str_eq(jstr(j, "mode"), "600");
    cr_assert_eq(json_integer_value(json_object_get(j, "format")), 2);
    cr_assert_eq(json_integer_value(json_object_get(j, "commits")), 2, "init and import");
    json_int_t reported = json_integer_value(json_object_get(j, "size"));
    json_decref(j);
    run_free(&r);

    size_t len;
    char *orig = read_all(at(&d, "a.ks"), &len);
    /* The size counts the database and its -wal and -shm files while the
     * tool had it open: at least the database itself. */
    cr_assert_geq(reported, (json_int_t)len);

    write_file(at(&d, "wrong.pass"), "not the passphrase\n", 19, 0600);
    ctl(&r, NULL, "keys", "-k", at(&d, "a.ks"), "--passphrase-file", at(&d, "wrong.pass"), NULL);
    EXPECT(&r, CX_KEYSTORE);
    cr_assert_not_null(strstr(r.err, "wrong passphrase"), "%s", r.err);
    cr_assert_eq(r.out_len, 0);
    run_free(&r);
    assert_same_file(at(&d, "a.ks"), orig, len);

    /* Damaged copies: cut to half (pages holding records are gone), one
     * bit flipped in the ciphertext of the signing key's record (its
     * nonce), one in the first octet of the file (no SQLite database any
     * more). Each is a clear failure and the file stays as it was. */
    cr_assert_gt(len, 4096, "a keystore of one page?");
    ctl(&r, NULL, "keys", "-k", at(&d, "a.ks"), "--passphrase-file", at(&d, "a.pass"), NULL);
    EXPECT(&r, CX_OK);
    char *genuine = strdup(r.out);
    cr_assert_not_null(genuine);
    run_free(&r);
    expect_refused_damage(&d, "cut.ks", orig, len / 2, genuine);
    free(genuine);
    size_t rec = record_offset(at(&d, "a.ks"), orig, len, ES_REC_KEY);
    char *bad = malloc(len);
    cr_assert_not_null(bad);
    memcpy(bad, orig, len);
    bad[rec + 12] ^= 0x10;
    expect_refused_damage(&d, "flip.ks", bad, len, NULL);
    memcpy(bad, orig, len);
    bad[0] ^= 0x01;
    expect_refused_damage(&d, "head.ks", bad, len, NULL);
    free(bad);
    /* The genuine one still opens. */
    ctl(&r, NULL, "keys", "-k", at(&d, "a.ks"), "--passphrase-file", at(&d, "a.pass"), NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
    free(orig);

    /* A private key never goes to a file others can read... */
    o = (run_opts){NULL, at(&d, "leak.pem"), NULL};
    ctl(&r, &o, "export", KS(&d, "a"), "--private", NULL);
    EXPECT(&r, CX_IO);
    cr_assert_not_null(strstr(r.err, "refusing"), "%s", r.err);
    size_t leaked;
    free(read_all(at(&d, "leak.pem"), &leaked));
    cr_assert_eq(leaked, 0);
    run_free(&r);
    /* ...but to a new file of mode 600 when asked. */
    ctl(&r, NULL, "export", KS(&d, "a"), "--private", "-o", at(&d, "key.pem"), NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
    cr_assert_eq(stat(at(&d, "key.pem"), &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);
    char *pem = read_all(at(&d, "key.pem"), NULL);
    cr_assert_not_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    free(pem);
    /* Two output forms, one of them secret: refused, nothing printed. */
    ctl(&r, NULL, "export", KS(&d, "a"), "--private", "--pem", NULL);
    EXPECT(&r, CX_USAGE);
    cr_assert_not_null(strstr(r.err, "exclude each other"), "%s", r.err);
    cr_assert_null(strstr(r.out, "-----BEGIN"), "%s", r.out);
    run_free(&r);

    /* A new passphrase (the store key is wrapped anew: the old passphrase
     * is a wrong one from now on). */
    write_file(at(&d, "new.pass"), "a new passphrase\n", 17, 0600);
    ctl(&r, NULL, "passwd", KS(&d, "a"), "--new-passphrase-file", at(&d, "new.pass"), NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
    ctl(&r, NULL, "keys", KS(&d, "a"), NULL);
    EXPECT(&r, CX_KEYSTORE);
    cr_assert_not_null(strstr(r.err, "wrong passphrase"), "%s", r.err);
    run_free(&r);
    ctl(&r, NULL, "keys", "-k", at(&d, "a.ks"), "--passphrase-file", at(&d, "new.pass"), "--json",
        NULL);
    EXPECT(&r, CX_OK);
    j = parse_json(&r);
    cr_assert_eq(json_array_size(j), 1);
    cr_assert_str_eq(jstr(json_array_get(j, 0), "type"), "rsa");
    char fp[65];
    snprintf(fp, sizeof fp, "%s", jstr(json_array_get(j, 0), "fingerprint"));
    json_decref(j);
    run_free(&r);
    /* The same fingerprint from the key file alone. */
    ctl(&r, NULL, "fingerprint", "--json", "tests/data/vec_rsa_alice.pem", NULL);
    EXPECT(&r, CX_OK);
    j = parse_json(&r);
    cr_assert_str_eq(jstr(j, "fingerprint"), fp);
    cr_assert(json_is_true(json_object_get(j, "private")));
    json_decref(j);
    run_free(&r);
    rm_tree(d.path);
}

/* ---- the offline flow, and what must be refused on the way */

/* Stanzas of a JSON array (seal --json "stanzas") written one per file. */
static void save_stanzas(const json_t *arr, const tdir *d, const char *prefix, size_t *n)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char name[64];
        snprintf(name, sizeof name, "%s%zu.xml", prefix, ++*n);
        const char *s = json_string_value(json_array_get(arr, i));
        cr_assert_not_null(s);
        write_file(at(d, name), s, strlen(s), 0600);
    }
}

/* Alice publishes (one group keeps it quick) to the stand-in server; Bob's
 * request and its answer are left in fetch.xml and items.xml. */
static void publish_and_fetch(const tdir *d)
{
    run r, srv;
    ctl(&r, NULL, "publish", KS(d, "alice"), "--groups", "14", "-l", "1h", NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, "<create node="));
    run_opts o = {r.out, NULL, NULL};
    ctl_test(&srv, &o, "server", "-d", at(d, "srv"), "publish", "--jid", ALICE, NULL);
    EXPECT(&srv, CX_OK);
    run_free(&srv);
    run_free(&r);
    ctl(&r, NULL, "fetch", ALICE, NULL);
    EXPECT(&r, CX_OK);
    write_file(at(d, "fetch.xml"), r.out, r.out_len, 0600);
    run_free(&r);
    o = (run_opts){NULL, at(d, "items.xml"), NULL};
    ctl_test(&r, &o, "server", "-d", at(d, "srv"), "answer", "--to", BOB_FULL,
             at(d, "fetch.xml"), NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
}

Test(cli, offline_flow_with_trust_expiry_replay_and_a_new_key, .timeout = 600)
{
    tdir d;
    tdir_make(&d);
    run r;
    json_t *j;
    keystore_lib(&d, "alice", PASS_A, "tests/data/vec_rsa_alice.pem", BOB,
                 "tests/data/vec_rsa_bob.pem");
    keystore_lib(&d, "bob", PASS_B, "tests/data/vec_rsa_bob.pem", NULL, NULL);
    /* Bob on another device, with a new key Alice does not know. */
    keystore_lib(&d, "bob2", PASS_B, "tests/data/vec_dsa_bob.pem", ALICE,
                 "tests/data/vec_rsa_alice.pem");

    publish_and_fetch(&d);
    run_opts o;

    /* Bob trusts no key for Alice yet: nothing is sealed. */
    ctl(&r, NULL, "seal", KS(&d, "bob"), "--from", BOB_FULL, "--to", ALICE, "--items",
        at(&d, "items.xml"), "--request", at(&d, "fetch.xml"), "hello", NULL);
    EXPECT(&r, CX_TRUST);
    cr_assert_not_null(strstr(r.err, "not signed by any key you trust"), "%s", r.err);
    cr_assert_eq(r.out_len, 0);
    run_free(&r);
    ctl(&r, NULL, "trust", KS(&d, "bob"), "-n", "Alice", ALICE, "tests/data/vec_rsa_alice.pem",
        NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
    /* Another key for the same JID: refused loudly, nothing recorded. */
    ctl(&r, NULL, "trust", KS(&d, "bob"), ALICE, "tests/data/dsa2048.pem", NULL);
    EXPECT(&r, CX_TRUST);
    cr_assert_not_null(strstr(r.err, "PRESENTS A DIFFERENT KEY"), "%s", r.err);
    run_free(&r);

    /* Two hours later the options have expired. */
    o = (run_opts){NULL, NULL, "ESESSIONCTL_NOW=+7200"};
    ctl_test(&r, &o, "seal", KS(&d, "bob"), "--from", BOB_FULL, "--to", ALICE, "--items",
        at(&d, "items.xml"), "--request", at(&d, "fetch.xml"), "hello", NULL);
    EXPECT(&r, CX_REJECTED);
    cr_assert_not_null(strstr(r.err, "expired"), "%s", r.err);
    run_free(&r);

    /* Now: two messages (the second re-keys), then the termination. */
    ctl(&r, NULL, "seal", KS(&d, "bob"), "--from", BOB_FULL, "--to", ALICE, "--items",
        at(&d, "items.xml"), "--request", at(&d, "fetch.xml"), "--rekey-freq", "2", "--json",
        "Hello <Alice> & co", "second", NULL);
    EXPECT(&r, CX_OK);
    j = parse_json(&r);
    size_t n = 0;
    json_t *stanzas = json_object_get(j, "stanzas");
    cr_assert_eq(json_array_size(stanzas), 2);
    cr_assert_eq(strlen(jstr(j, "thread")), 32);
    cr_assert_not_null(strstr(json_string_value(json_array_get(stanzas, 0)), "<init "));
    cr_assert_not_null(strstr(json_string_value(json_array_get(stanzas, 1)), "<key>"));
    save_stanzas(stanzas, &d, "m", &n);
    json_decref(j);
    run_free(&r);
    ctl(&r, NULL, "terminate", KS(&d, "bob"), ALICE, NULL);
    EXPECT(&r, CX_OK);
    write_file(at(&d, "m3.xml"), r.out, r.out_len, 0600);
    run_free(&r);

    ctl(&r, NULL, "seal", KS(&d, "bob2"), "--from", "bob@example.com/phone", "--to", ALICE,
        "--items", at(&d, "items.xml"), "hi from my phone", NULL);
    EXPECT(&r, CX_OK);
    write_file(at(&d, "new-key.xml"), r.out, r.out_len, 0600);
    run_free(&r);

    /* The server keeps all four, stamped with a delay. */
    ctl_test(&r, NULL, "server", "-d", at(&d, "srv"), "deliver", at(&d, "m1.xml"), at(&d, "m2.xml"),
        at(&d, "m3.xml"), at(&d, "new-key.xml"), NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, "/offline/" ALICE "/000004.xml"), "%s", r.out);
    run_free(&r);
    char *q1 = read_all(at(&d, "srv/offline/" ALICE "/000001.xml"), NULL);
    cr_assert_not_null(strstr(q1, "<delay xmlns='urn:xmpp:delay' from='example.org' stamp='"));
    free(q1);

    /* Alice: the new key is refused, loudly, naming the key presented. */
    ctl(&r, NULL, "open", KS(&d, "alice"), "--json", at(&d, "srv/offline/" ALICE "/000004.xml"),
        NULL);
    EXPECT(&r, CX_TRUST);
    cr_assert_not_null(strstr(r.err, "PRESENTS A DIFFERENT KEY"), "%s", r.err);
    j = parse_json(&r);
    cr_assert_eq(json_array_size(j), 1);
    json_t *res = json_array_get(j, 0);
    cr_assert_str_eq(jstr(res, "status"), "rejected");
    cr_assert_str_eq(jstr(res, "error"), "untrusted-key");
    cr_assert_null(json_object_get(res, "plaintext"));
    char presented[65];
    snprintf(presented, sizeof presented, "%s",
             jstr(json_object_get(res, "presented_key"), "fingerprint"));
    json_decref(j);
    run_free(&r);
    char want_fp[65];
    fingerprint_hex("tests/data/vec_dsa_bob.pem", want_fp);
    cr_assert_str_eq(presented, want_fp);

    /* Alice comes online and opens Bob's three stanzas. */
    ctl(&r, NULL, "online", KS(&d, "alice"), NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, "<item id='current'/>"), "%s", r.out);
    run_free(&r);
    /* Listed from the keystore: withdrawn, and the stanza refused above
     * (untrusted key) opened no session. */
    ctl(&r, NULL, "optsets", KS(&d, "alice"), NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, "  withdrawn  "), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "  groups 14  sessions 0\n"), "%s", r.out);
    cr_assert_null(strchr(strchr(r.out, '\n') + 1, '\n'), "one line: %s", r.out);
    char nonce_start[13];
    snprintf(nonce_start, sizeof nonce_start, "%s", r.out);
    run_free(&r);
    ctl(&r, NULL, "open", KS(&d, "alice"), "--json", "--done",
        at(&d, "srv/offline/" ALICE "/000001.xml"), at(&d, "srv/offline/" ALICE "/000002.xml"),
        at(&d, "srv/offline/" ALICE "/000003.xml"), NULL);
    EXPECT(&r, CX_OK);
    j = parse_json(&r);
    cr_assert_eq(json_array_size(j), 3);
    static const char *const want[] = {"opened", "opened", "terminated"};
    for (size_t i = 0; i < 3; i++) {
        res = json_array_get(j, i);
        cr_assert_str_eq(jstr(res, "status"), want[i]);
        cr_assert_str_eq(jstr(res, "from"), BOB_FULL);
        cr_assert_str_eq(jstr(res, "from_bare"), BOB);
        cr_assert_eq(strlen(jstr(res, "position")), 32);
        cr_assert_str_eq(jstr(res, "delay_from"), "example.org");
        /* Bob's key signed the session: trusted, not verified. */
        json_t *key = json_object_get(res, "key");
        cr_assert_str_eq(jstr(key, "state"), "trusted");
        cr_assert_eq(strlen(jstr(key, "fingerprint")), 64);
        if (want[i][0] == 'o')
            cr_assert_eq(strlen(jstr(res, "id")), 32);
        if (i > 0)
            cr_assert_gt(strcmp(jstr(res, "position"),
                                jstr(json_array_get(j, i - 1), "position")), 0);
    }
    res = json_array_get(j, 0);
    cr_assert_not_null(strstr(jstr(res, "plaintext"), "<body>Hello &lt;Alice&gt; &amp; co</body>"),
                       "%s", jstr(res, "plaintext"));
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(res, "profile"), 0)), "im");
    cr_assert_eq(strlen(jstr(res, "created")), 20);
    cr_assert_not_null(strstr(jstr(json_array_get(j, 1), "plaintext"), "<body>second</body>"));
    json_decref(j);
    run_free(&r);

    /* A re-serialized copy of the first stanza is a replay. */
    char *m1 = read_all(at(&d, "srv/offline/" ALICE "/000001.xml"), NULL);
    char *type = strstr(m1, "type='chat'");
    cr_assert_not_null(type);
    type[5] = '"';
    type[10] = '"';
    o = (run_opts){m1, NULL, NULL};
    ctl(&r, &o, "open", KS(&d, "alice"), "--json", "-", NULL);
    free(m1);
    EXPECT(&r, CX_REJECTED);
    j = parse_json(&r);
    cr_assert_str_eq(jstr(json_array_get(j, 0), "error"), "replay");
    json_decref(j);
    run_free(&r);

    /* Her option set, as the keystore holds it: exponents destroyed by
     * --done, and exactly one session (Bob's) in its replay memory; the
     * refused replay added none. */
    ctl(&r, NULL, "optsets", KS(&d, "alice"), "--json", NULL);
    EXPECT(&r, CX_OK);
    res = one_optset(&r, 1, 0);
    cr_assert_str_eq(jstr(res, "state"), "destroyed");
    cr_assert_eq(json_integer_value(json_object_get(res, "sessions")), 1);
    cr_assert(json_is_false(json_object_get(res, "expired")));
    json_t *groups = json_object_get(res, "groups");
    cr_assert_eq(json_array_size(groups), 1);
    cr_assert_eq(json_integer_value(json_array_get(groups, 0)), 14);
    cr_assert_eq(strlen(jstr(res, "nonce")), 44); /* 32 octets */
    cr_assert_eq(strncmp(jstr(res, "nonce"), nonce_start, 12), 0);
    cr_assert_eq(strlen(jstr(res, "created")), 20);
    cr_assert_gt(strcmp(jstr(res, "expires"), jstr(res, "created")), 0);
    cr_assert_null(json_object_get(res, "replays"));
    cr_assert_str_eq(jstr(res, "node"), "subscribers");
    char first_nonce[45];
    snprintf(first_nonce, sizeof first_nonce, "%s", jstr(res, "nonce"));
    json_decref(res);
    run_free(&r);

    /* status counts the same states; two hours on, the set has expired. */
    o = (run_opts){NULL, NULL, "ESESSIONCTL_NOW=+7200"};
    ctl_test(&r, &o, "status", KS(&d, "alice"), "--json", NULL);
    EXPECT(&r, CX_OK);
    j = parse_json(&r);
    json_t *counts = json_object_get(j, "optsets");
    cr_assert_eq(json_integer_value(json_object_get(counts, "offered")), 0);
    cr_assert_eq(json_integer_value(json_object_get(counts, "withdrawn")), 0);
    cr_assert_eq(json_integer_value(json_object_get(counts, "destroyed")), 1);
    cr_assert_eq(json_integer_value(json_object_get(counts, "expired")), 1);
    json_decref(j);
    run_free(&r);
    /* The installed tool has no clock but the real one. */
    ctl(&r, &o, "status", KS(&d, "alice"), "--json", NULL);
    EXPECT(&r, CX_OK);
    j = parse_json(&r);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "optsets"), "expired")), 0);
    json_decref(j);
    run_free(&r);

    /* The keystore holds a set: the node exists, no creation IQ. */
    ctl(&r, NULL, "publish", KS(&d, "alice"), "--groups", "15", "--json", NULL);
    EXPECT(&r, CX_OK);
    j = parse_json(&r);
    cr_assert_null(json_object_get(j, "create_iq"));
    cr_assert_not_null(strstr(jstr(j, "publish_iq"), "<publish node="));
    char second_nonce[45];
    snprintf(second_nonce, sizeof second_nonce, "%s", jstr(j, "nonce"));
    json_decref(j);
    run_free(&r);
    /* Two hours on, purge removes the expired set (and its replay memory);
     * the new one is offered. */
    o = (run_opts){NULL, NULL, "ESESSIONCTL_NOW=+7200"};
    ctl_test(&r, &o, "purge", KS(&d, "alice"), NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
    ctl(&r, NULL, "optsets", KS(&d, "alice"), "--json", NULL);
    EXPECT(&r, CX_OK);
    res = one_optset(&r, 1, 0);
    cr_assert_str_eq(jstr(res, "nonce"), second_nonce);
    cr_assert_str_neq(second_nonce, first_nonce);
    cr_assert_str_eq(jstr(res, "state"), "offered");
    cr_assert_eq(json_integer_value(json_object_get(res, "sessions")), 0);
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(res, "groups"), 0)), 15);
    json_decref(res);
    run_free(&r);

    /* Nothing about the option sets is kept outside the keystore. */
    cr_assert_eq(files_ending(d.path, ".optsets"), 0);
    rm_tree(d.path);
}

/* ---- Argon2id costs: the weakest is said loudly wherever it is set */

Test(cli, the_weakest_kdf_cost_warns_at_every_use_and_in_status)
{
    tdir d;
    tdir_make(&d);
    write_file(at(&d, "p"), PASS_A "\n", strlen(PASS_A) + 1, 0600);
    run r;
    run_opts o = {NULL, NULL, "ESESSIONCTL_KDF_COST=min"};
    ctl(&r, &o, "init", "-k", at(&d, "weak.ks"), "--passphrase-file", at(&d, "p"), NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.err, "WARNING: ESESSIONCTL_KDF_COST=min is set: the weakest"),
                       "%s", r.err);
    run_free(&r);
    ctl(&r, NULL, "status", "-k", at(&d, "weak.ks"), "--passphrase-file", at(&d, "p"), NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, "8 KiB (min)"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "\nWARNING:  the weakest Argon2id cost"), "%s", r.out);
    run_free(&r);
    /* passwd to the weakest cost warns too; the environment does not
     * lower an existing keystore's cost. */
    ctl(&r, &o, "passwd", "-k", at(&d, "weak.ks"), "--passphrase-file", at(&d, "p"),
        "--new-passphrase-file", at(&d, "p"), "--kdf-cost", "min", NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.err, "WARNING: --kdf-cost min"), "%s", r.err);
    run_free(&r);

    /* Another cost from the environment: one line, and status names it. */
    o.env = "ESESSIONCTL_KDF_COST=interactive";
    ctl(&r, &o, "init", "-k", at(&d, "ok.ks"), "--passphrase-file", at(&d, "p"), NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.err, "ESESSIONCTL_KDF_COST=interactive sets this keystore's"),
                       "%s", r.err);
    cr_assert_null(strstr(r.err, "WARNING"), "%s", r.err);
    run_free(&r);
    ctl(&r, NULL, "status", "-k", at(&d, "ok.ks"), "--passphrase-file", at(&d, "p"), "--json",
        NULL);
    EXPECT(&r, CX_OK);
    json_t *j = parse_json(&r);
    json_t *kdf = json_object_get(j, "kdf");
    cr_assert_str_eq(jstr(kdf, "cost"), "interactive");
    cr_assert(json_is_false(json_object_get(kdf, "weakest")));
    cr_assert_eq(json_integer_value(json_object_get(kdf, "memlimit")), 64 << 20);
    json_decref(j);
    run_free(&r);
    ctl(&r, NULL, "status", "-k", at(&d, "ok.ks"), "--passphrase-file", at(&d, "p"), NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, "65536 KiB (interactive)"), "%s", r.out);
    cr_assert_null(strstr(r.out, "WARNING"), "%s", r.out);
    run_free(&r);
    rm_tree(d.path);
}

/* ---- the agent */

/* The agent's pid from 'agent --list' (0 when none runs). */
static long agent_pid(void)
{
    run r;
    long pid = 0;
    ctl(&r, NULL, "agent", "--list", NULL);
    if (r.status == CX_OK)
        cr_assert_eq(sscanf(r.out, "agent: pid %ld,", &pid), 1, "%s", r.out);
    else
        cr_assert_eq(r.status, 6, "%s", r.err);
    run_free(&r);
    return pid;
}

/* Wait (a bounded while) until cond of the listing holds: the agent has
 * ended (want NULL), or its listing no longer names want. */
static void wait_listing_without(const char *want)
{
    for (int i = 0; i < 200; i++) {
        run r;
        ctl(&r, NULL, "agent", "--list", NULL);
        int done = r.status == 6 || (want != NULL && strstr(r.out, want) == NULL);
        run_free(&r);
        if (done)
            return;
        struct timespec tenth = {0, 100 * 1000 * 1000};
        nanosleep(&tenth, NULL);
    }
    cr_assert_fail("the agent still holds %s", want != NULL ? want : "keys");
}

/* A command without passphrase options, with no key in the agent, asks on
 * the terminal, and there is none. */
static void expect_prompt(const tdir *d, const char *ks)
{
    run r;
    ctl(&r, NULL, "status", "-k", at(d, ks), NULL);
    EXPECT(&r, CX_USAGE);
    cr_assert_not_null(strstr(r.err, "no terminal to ask the passphrase on"), "%s", r.err);
    run_free(&r);
}

static void expect_opens(const tdir *d, const char *ks)
{
    run r;
    ctl(&r, NULL, "status", "-k", at(d, ks), NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, "keystore: "), "%s", r.out);
    cr_assert_eq(r.err_len, 0, "%s", r.err);
    run_free(&r);
}

Test(cli, the_agent_holds_a_key_asked_once_until_changed_forgotten_expired_or_stopped)
{
    tdir d;
    tdir_make(&d);
    char rundir[256], sock[300];
    snprintf(rundir, sizeof rundir, "%s/run", d.path);
    cr_assert_eq(mkdir(rundir, 0700), 0);
    snprintf(sock, sizeof sock, "%s/esession/agent.sock", rundir);
    /* This test's agents, in this test's directory only. */
    cr_assert_eq(setenv("XDG_RUNTIME_DIR", rundir, 1), 0);
    keystore(&d, "alice", PASS_A, NULL);
    keystore(&d, "bob", PASS_B, NULL);
    run r;

    /* No agent yet. */
    ctl(&r, NULL, "agent", "--list", NULL);
    EXPECT(&r, 6);
    cr_assert_not_null(strstr(r.err, "no agent is running"), "%s", r.err);
    run_free(&r);
    expect_prompt(&d, "alice.ks");
    /* A wrong passphrase holds nothing and starts nothing. */
    write_file(at(&d, "wrong.pass"), "wrong\n", 6, 0600);
    ctl(&r, NULL, "agent", "-k", at(&d, "alice.ks"), "--passphrase-file", at(&d, "wrong.pass"),
        NULL);
    EXPECT(&r, CX_KEYSTORE);
    run_free(&r);
    cr_assert_eq(agent_pid(), 0);

    /* Asked once: the agent starts, in a private directory. */
    ctl(&r, NULL, "agent", KS(&d, "alice"), "--timeout", "2m", NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, "alice.ks: key held for 2m by the agent (pid "), "%s", r.out);
    cr_assert_not_null(strstr(r.out, ", started)"), "%s", r.out);
    run_free(&r);
    long pid = agent_pid();
    cr_assert_gt(pid, 0);
    struct stat sb;
    cr_assert_eq(lstat(at(&d, "run/esession"), &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700, "mode %o", sb.st_mode);
    cr_assert_eq(lstat(sock, &sb), 0);
    cr_assert(S_ISSOCK(sb.st_mode) && (sb.st_mode & 077) == 0, "mode %o", sb.st_mode);
    /* Not dumpable: its /proc entries belong to root then (which only a
     * user other than root can see). */
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%ld", pid);
    if (getuid() != 0 && stat(proc, &sb) == 0)
        cr_assert_eq(sb.st_uid, 0, "the agent is dumpable");
    /* Alice's commands ask nothing now; Bob's still do. */
    expect_opens(&d, "alice.ks");
    ctl(&r, NULL, "peers", "-k", at(&d, "alice.ks"), NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
    expect_prompt(&d, "bob.ks");

    /* A second key goes to the same agent. */
    ctl(&r, NULL, "agent", KS(&d, "bob"), NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, "bob.ks: key held for 15m by the agent"), "%s", r.out);
    cr_assert_null(strstr(r.out, "started"), "%s", r.out);
    run_free(&r);
    cr_assert_eq(agent_pid(), pid);
    expect_opens(&d, "bob.ks");
    ctl(&r, NULL, "agent", "--list", NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, "alice.ks  "), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "bob.ks  15m left\n"), "%s", r.out);
    run_free(&r);

    /* Forgotten: asked again. */
    ctl(&r, NULL, "agent", "--forget", "-k", at(&d, "bob.ks"), NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
    expect_prompt(&d, "bob.ks");
    ctl(&r, NULL, "agent", "--forget", "-k", at(&d, "bob.ks"), NULL);
    EXPECT(&r, 6);
    cr_assert_not_null(strstr(r.err, "holds no key for"), "%s", r.err);
    run_free(&r);

    /* The passphrase changed elsewhere: the key is refused, dropped, and
     * the passphrase asked; with no key left the agent ends. */
    esession_ctx *ctx = NULL;
    esession_keystore *ks = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    cr_assert_eq(esession_keystore_open(ctx, &ks, at(&d, "alice.ks"), PASS_A, strlen(PASS_A)),
                 ESESSION_OK);
    cr_assert_eq(esession_keystore_change_passphrase(ks, "changed", 7, NULL), ESESSION_OK);
    esession_keystore_free(ks);
    ctl(&r, NULL, "status", "-k", at(&d, "alice.ks"), NULL);
    EXPECT(&r, CX_USAGE);
    cr_assert_not_null(strstr(r.err, "the agent's key no longer opens"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "no terminal"), "%s", r.err);
    run_free(&r);
    wait_listing_without(NULL);
    cr_assert_neq(lstat(sock, &sb), 0, "the socket is removed");

    /* passwd through the agent's key drops it. */
    write_file(at(&d, "changed.pass"), "changed\n", 8, 0600);
    ctl(&r, NULL, "agent", "-k", at(&d, "alice.ks"), "--passphrase-file", at(&d, "changed.pass"),
        NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
    ctl(&r, NULL, "passwd", "-k", at(&d, "alice.ks"), "--new-passphrase-file",
        at(&d, "alice.pass"), NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.err, "the agent dropped the key of the old passphrase"), "%s",
                       r.err);
    run_free(&r);
    wait_listing_without(NULL);
    expect_prompt(&d, "alice.ks");

    /* An agent killed leaves its socket: commands do without it, and the
     * next agent replaces it. */
    ctl(&r, NULL, "agent", KS(&d, "alice"), NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
    pid = agent_pid();
    cr_assert_gt(pid, 0);
    cr_assert_eq(kill((pid_t)pid, SIGKILL), 0);
    wait_listing_without(NULL);
    cr_assert_eq(lstat(sock, &sb), 0, "a stale socket");
    expect_prompt(&d, "alice.ks");
    ctl(&r, NULL, "agent", KS(&d, "alice"), NULL);
    EXPECT(&r, CX_OK);
    cr_assert_not_null(strstr(r.out, ", started)"), "%s", r.out);
    run_free(&r);
    expect_opens(&d, "alice.ks");

    /* A key's time runs out; the other stays. */
    ctl(&r, NULL, "agent", KS(&d, "bob"), "--timeout", "1s", NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
    wait_listing_without("bob.ks");
    expect_prompt(&d, "bob.ks");
    expect_opens(&d, "alice.ks");

    /* Usage. */
    static const char *const bad[][4] = {{"--list", "-k", "x", NULL},
                                         {"--stop", "--list", NULL, NULL},
                                         {"--timeout", "25h", NULL, NULL},
                                         {"--timeout", "0", NULL, NULL},
                                         {"--forget", "--timeout", "1m", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ctl(&r, NULL, "agent", bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL);
        EXPECT(&r, CX_USAGE);
        run_free(&r);
    }

    /* Stopped: every key dropped, the socket removed. */
    ctl(&r, NULL, "agent", "--stop", NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);
    wait_listing_without(NULL);
    cr_assert_neq(lstat(sock, &sb), 0, "the socket is removed");
    expect_prompt(&d, "alice.ks");

    /* A directory others can enter is neither used nor made an agent's. */
    cr_assert_eq(chmod(at(&d, "run/esession"), 0755), 0);
    ctl(&r, NULL, "agent", KS(&d, "alice"), NULL);
    EXPECT(&r, CX_IO);
    cr_assert_not_null(strstr(r.err, "is not a private directory"), "%s", r.err);
    run_free(&r);
    ctl(&r, NULL, "status", "-k", at(&d, "alice.ks"), NULL);
    EXPECT(&r, CX_USAGE);
    cr_assert_not_null(strstr(r.err, "is not a private directory"), "%s", r.err);
    run_free(&r);
    cr_assert_eq(agent_pid(), 0);
    esession_ctx_free(ctx);
    rm_tree(d.path);
}

/* A stanza held by one `open` run (its predecessor missing) is reported by
 * the run that releases it as held since an earlier run, not under that
 * run's own input; a plain message among the input is shown, marked. */
Test(cli, a_stanza_held_by_an_earlier_run_is_reported_as_such)
{
    tdir d;
    tdir_make(&d);
    run r;
    keystore_lib(&d, "alice", PASS_A, "tests/data/vec_rsa_alice.pem", BOB,
                 "tests/data/vec_rsa_bob.pem");
    keystore_lib(&d, "bob", PASS_B, "tests/data/vec_rsa_bob.pem", ALICE,
                 "tests/data/vec_rsa_alice.pem");
    publish_and_fetch(&d);
    ctl(&r, NULL, "seal", KS(&d, "bob"), "--from", BOB_FULL, "--to", ALICE, "--items",
        at(&d, "items.xml"), "--rekey-freq", "2", "--json", "one", "two", "three", NULL);
    EXPECT(&r, CX_OK);
    json_t *j = parse_json(&r);
    size_t n = 0;
    save_stanzas(json_object_get(j, "stanzas"), &d, "m", &n);
    cr_assert_eq(n, 3);
    json_decref(j);
    run_free(&r);
    ctl(&r, NULL, "online", KS(&d, "alice"), NULL);
    EXPECT(&r, CX_OK);
    run_free(&r);

    /* Run 1: the first opens; the third, under the key the second brings,
     * waits for it. */
    ctl(&r, NULL, "open", KS(&d, "alice"), "--json", at(&d, "m1.xml"), at(&d, "m3.xml"), NULL);
    j = parse_json(&r);
    cr_assert_str_eq(jstr(json_array_get(j, 0), "status"), "opened");
    cr_assert_str_eq(jstr(json_array_get(j, 1), "status"), "held");
    json_decref(j);
    run_free(&r);
    /* Run 2: a plain message, then the second; the third comes out of
     * the session where run 1 left it. */
    static const char plain[] =
        "<message from='carol@example.net/x' to='" ALICE "'><body>no secret</body></message>";
    write_file(at(&d, "plain.xml"), plain, sizeof plain - 1, 0600);
    ctl(&r, NULL, "open", KS(&d, "alice"), "--json", at(&d, "plain.xml"), at(&d, "m2.xml"),
        NULL);
    EXPECT(&r, CX_OK);
    j = parse_json(&r);
    cr_assert_eq(json_array_size(j), 3, "%s", r.out);
    json_t *p = json_array_get(j, 0);
    cr_assert_str_eq(jstr(p, "status"), "not encrypted");
    cr_assert(json_is_false(json_object_get(p, "encrypted")));
    cr_assert_str_eq(jstr(p, "plaintext"), "<body>no secret</body>");
    size_t from_earlier = 0;
    for (size_t i = 1; i < 3; i++) {
        json_t *res = json_array_get(j, i);
        cr_assert_str_eq(jstr(res, "status"), "opened");
        if (strcmp(jstr(res, "source"), "held since an earlier run") == 0) {
            from_earlier++;
            cr_assert_null(json_object_get(res, "tag"));
            cr_assert_not_null(strstr(jstr(res, "plaintext"), "<body>three</body>"));
        }
    }
    cr_assert_eq(from_earlier, 1, "%s", r.out);
    json_decref(j);
    run_free(&r);
    rm_tree(d.path);
}
