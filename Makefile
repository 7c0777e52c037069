# esession: top-level GNU Makefile.
#   make            build libesession.a, libesession.so, the harness and tools
#   make test       install missing Debian packages if needed, then every test:
#                   unit tests, vectors, ASan+UBSan build, real servers, fuzz checks
#   make valgrind   every test binary and the harness under valgrind (also in check-long)
#   make demo       install the few packages the tool needs, build it, and
#                   run the offline flow
#   make deps       install (as root) or print the Debian packages needed
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR     ?=

CC          ?= cc
AR          ?= ar
PKG_CONFIG  ?= pkg-config
VALGRIND    ?= valgrind

SOVERSION   := 0
# One source for the version: the public header.
VERSION     := $(shell sed -n 's/^\#define ESESSION_VERSION_STRING "\(.*\)"/\1/p' include/esession.h)

# Debian packages: what `make deps` installs. The demo needs only the
# first line: the library and the tool, no test frameworks.
DEB_DEMO     := build-essential pkg-config libsodium-dev libgmp-dev libssl-dev \
                libxml2-dev libsqlite3-dev libstrophe-dev
DEB_PACKAGES := $(DEB_DEMO) libjansson-dev libcriterion-dev valgrind sqlite3
# What only make test needs: the XMPP servers of tests/xmpp/, and clang
# with its libFuzzer runtime for tests/fuzz/.
DEB_SERVERS  := openssl ejabberd prosody clang libclang-rt-14-dev
DEPS_PACKAGES ?= $(DEB_PACKAGES) $(DEB_SERVERS)
# Bench-only: the peers `make bench` compares against. Never linked into
# the library, and not installed by make deps, test or demo.
DEB_BENCH    := libotr5-dev libsignal-protocol-c-dev
# pkg-config modules that must be found before building.
PC_LIB      := libsodium gmp libcrypto libxml-2.0 sqlite3
PC_TEST     := criterion jansson
PC_CLI      := libstrophe
PC_BENCH    := libotr libsignal-protocol-c

BUILD       ?= build
SAN         ?=
NPROC       := $(shell nproc 2>/dev/null || echo 2)
V           ?=
Q           := $(if $(V),,@)

# The sanitizer build at -O1, as AddressSanitizer's documentation has it:
# its tests run as fast as at -O2 here and it builds in 62 s instead of 87.
ifeq ($(SAN),1)
CFLAGS      ?= -O1 -g
endif
CFLAGS      ?= -O2 -g
WARN        := -std=c11 -Wall -Wextra -Wpedantic -Werror -Wshadow \
               -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
               -Wcast-qual -Wpointer-arith
HARDEN      := -fstack-protector-strong -fPIC -fno-strict-overflow
DEFS        := -D_POSIX_C_SOURCE=200809L -DESESSION_BUILDING
# make ct: the library with its constant-time check hooks (tests/ct/).
ifeq ($(CT),1)
DEFS        += -DES_CT_CHECK
endif
ifeq ($(SAN),1)
HARDEN      += -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
SANLD       := -fsanitize=address,undefined
else
DEFS        += -D_FORTIFY_SOURCE=2
endif

PC_CFLAGS   = $(shell $(PKG_CONFIG) --cflags $(PC_LIB) 2>/dev/null)
PC_LIBS     = $(shell $(PKG_CONFIG) --libs $(PC_LIB) 2>/dev/null)
CLI_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(PC_CLI) 2>/dev/null)
CLI_LIBS    = $(shell $(PKG_CONFIG) --libs $(PC_CLI) 2>/dev/null)
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PC_TEST) 2>/dev/null)
TEST_LIBS   = $(shell $(PKG_CONFIG) --libs $(PC_TEST) 2>/dev/null)
# The peers' headers are not ours to keep free of warnings.
BENCH_CFLAGS = $(patsubst -I%,-isystem %,$(shell $(PKG_CONFIG) --cflags $(PC_BENCH) 2>/dev/null))
BENCH_LIBS  = $(shell $(PKG_CONFIG) --libs $(PC_BENCH) 2>/dev/null) -pthread

ALL_CFLAGS  = $(WARN) $(HARDEN) $(DEFS) -Iinclude $(PC_CFLAGS) $(CFLAGS)
LDFLAGS     ?=
ALL_LDFLAGS = $(SANLD) -Wl,-z,relro -Wl,-z,now $(LDFLAGS)

LIB_DIRS    := core crypto forms pep store session online
LIB_SRCS    := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)

HARNESS_SRCS := $(wildcard tests/harness/*.c) $(wildcard tests/common/*.c)
HARNESS_OBJS := $(HARNESS_SRCS:%.c=$(BUILD)/obj/%.o)
HARNESS     := $(BUILD)/esession-vectors

CLI_SRCS    := $(wildcard cli/*.c cli/xmpp/*.c)
CLI_OBJS    := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
CLI         := $(if $(CLI_SRCS),$(BUILD)/esessionctl)
# The test tool: the same tool plus what the installed one must not have
# (the server stand-in of tests/cli/, the ESESSIONCTL_NOW clock). The CLI
# files that mention ESESSIONCTL_TESTING are built again with it defined.
CLI_TESTING_SRCS := $(shell grep -l ESESSIONCTL_TESTING $(CLI_SRCS) /dev/null | grep -v '^/dev/null$$')
TEST_CLI_OBJS := $(filter-out $(CLI_TESTING_SRCS:%.c=$(BUILD)/obj/%.o),$(CLI_OBJS)) \
                 $(CLI_TESTING_SRCS:%.c=$(BUILD)/obj/testing/%.o) \
                 $(patsubst %.c,$(BUILD)/obj/testing/%.o,$(wildcard tests/cli/*.c))
TEST_CLI    := $(if $(CLI_SRCS),$(BUILD)/tests/esessionctl-test)

UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
COMMON_SRCS := $(wildcard tests/common/*.c)
UNIT_SUPPORT := $(COMMON_SRCS) $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))
UNIT_SUPPORT_OBJS := $(UNIT_SUPPORT:%.c=$(BUILD)/obj/%.o)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

STATIC_LIB  := $(BUILD)/libesession.a
SHARED_LIB  := $(BUILD)/libesession.so.$(VERSION)

VECTOR_FILES := $(sort $(wildcard vectors/*.txt vectors/wycheproof/*.json vectors/esession/*.json))

.PHONY: store xmpp-scenarios xmpp-chat check-long fuzz-check FORCE bench ensure-bench-deps ct all lib test test-run demo demo-run deps ensure-deps ensure-demo-deps ensure-test-deps install uninstall \
        clean unit vectors asan valgrind tests-build xmpp xmpp-kill valgrind-xmpp docs-check

all: lib $(HARNESS) $(CLI)

lib: $(STATIC_LIB) $(SHARED_LIB)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -fvisibility=hidden -MMD -MP -c $< -o $@

$(STATIC_LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS)
	$(Q)$(CC) -shared -Wl,-soname,libesession.so.$(SOVERSION) $(ALL_LDFLAGS) -o $@ $^ $(PC_LIBS)
	$(Q)ln -sf libesession.so.$(VERSION) $(BUILD)/libesession.so.$(SOVERSION)
	$(Q)ln -sf libesession.so.$(SOVERSION) $(BUILD)/libesession.so

$(HARNESS): $(HARNESS_OBJS) $(STATIC_LIB)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(HARNESS_OBJS) $(STATIC_LIB) $(PC_LIBS) $(TEST_LIBS)

$(BUILD)/obj/cli/%.o: ALL_CFLAGS += $(CLI_CFLAGS)

$(BUILD)/esessionctl: $(CLI_OBJS) $(STATIC_LIB)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC_LIB) $(PC_LIBS) $(CLI_LIBS)

$(BUILD)/obj/testing/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $< (test tool)")
	$(Q)$(CC) $(ALL_CFLAGS) $(CLI_CFLAGS) -DESESSIONCTL_TESTING -fvisibility=hidden -MMD -MP -c $< -o $@

$(TEST_CLI): $(TEST_CLI_OBJS) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_CLI_OBJS) $(STATIC_LIB) $(PC_LIBS) $(CLI_LIBS)

$(BUILD)/obj/tests/%.o: ALL_CFLAGS += $(TEST_CFLAGS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(UNIT_SUPPORT_OBJS) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(UNIT_SUPPORT_OBJS) $(STATIC_LIB) $(PC_LIBS) $(TEST_LIBS)

tests-build: all $(TEST_CLI) $(UNIT_BINS)

# ---- set-up -------------------------------------------------------------

deps:
	@missing=""; for p in $(DEPS_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	    echo "deps: missing packages; run:"; \
	    echo "  sudo apt-get install -y --no-install-recommends$$missing"; \
	    exit 1; \
	fi

# Install only when pkg-config (or valgrind) is missing something; make
# test also needs the XMPP servers.
ensure-deps:
	@if command -v $(PKG_CONFIG) >/dev/null 2>&1 && \
	    $(PKG_CONFIG) --exists $(PC_LIB) $(PC_CLI) $(PC_TEST) && \
	    command -v $(VALGRIND) >/dev/null 2>&1 && command -v sqlite3 >/dev/null 2>&1 && \
	    command -v $(CC) >/dev/null 2>&1; then :; \
	else $(MAKE) --no-print-directory deps DEPS_PACKAGES="$(DEB_PACKAGES)"; fi

# make demo: only what building the tool needs.
ensure-demo-deps:
	@if command -v $(PKG_CONFIG) >/dev/null 2>&1 && $(PKG_CONFIG) --exists $(PC_LIB) $(PC_CLI) && \
	    command -v $(CC) >/dev/null 2>&1; then :; \
	else $(MAKE) --no-print-directory deps DEPS_PACKAGES="$(DEB_DEMO)"; fi

ensure-test-deps: ensure-deps
	@if command -v openssl >/dev/null 2>&1 && [ -x /usr/sbin/ejabberdctl ] && \
	    [ -x /usr/bin/prosody ] && command -v clang >/dev/null 2>&1 && \
	    dpkg-query -W -f='$${Status}' libclang-rt-14-dev 2>/dev/null | grep -q 'ok installed'; then :; \
	else $(MAKE) --no-print-directory deps; fi

# ---- tests --------------------------------------------------------------

test: ensure-test-deps
	@$(MAKE) --no-print-directory test-run

# Builds use every core; test runs stay in sequence so their output reads.
test-run:
	@$(MAKE) --no-print-directory docs-check
	@$(MAKE) --no-print-directory -j$(NPROC) tests-build
	@$(MAKE) --no-print-directory unit vectors store
	@$(MAKE) --no-print-directory -j$(NPROC) BUILD=build/asan SAN=1 tests-build
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 asan
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 xmpp
	@$(MAKE) --no-print-directory xmpp-scenarios
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 xmpp-chat
	@$(MAKE) --no-print-directory xmpp-kill
	@$(MAKE) --no-print-directory -j$(NPROC) fuzz-build
	@$(MAKE) --no-print-directory fuzz-check
	@$(MAKE) --no-print-directory install-check
	@echo "make test: all suites passed"

# Two binaries at a time (tests/run_units.sh), the longest first.
UNIT_FIRST := $(addprefix $(BUILD)/tests/,test_online_tamper test_online_fail test_cli \
                test_keystore test_session test_search)
UNIT_ORDER  = $(filter $(UNIT_FIRST),$(UNIT_BINS)) $(filter-out $(UNIT_FIRST),$(UNIT_BINS))
unit: tests-build
	@sh tests/run_units.sh $(BUILD)/unit-logs "" "--jobs 2" $(UNIT_ORDER)

vectors: $(HARNESS)
	$(HARNESS) $(VECTOR_FILES)

# Every "PROFILE §N" / "wire-profile §N" cited in the sources is a heading
# of docs/wire-profile.md.
docs-check:
	@sh tests/docs_refs.sh .

asan: tests-build
	@set -e; export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1; \
	sh tests/run_units.sh $(BUILD)/unit-logs "asan " "--jobs 2" $(UNIT_ORDER); \
	echo "== asan harness"; $(HARNESS) $(VECTOR_FILES) > $(BUILD)/harness.log || { tail -40 $(BUILD)/harness.log; exit 1; }; \
	tail -1 $(BUILD)/harness.log

# The store's promise with real processes (tests/store/): sealers and
# openers at once on one keystore, SIGKILL at random points of seal (with
# re-keys) and open, readers beside writers. make test: 60 trials each of
# two and four sealers, 30 of two openers, 200 kills of seal and of open;
# check-long: 500, 200 and 1,000.
STORE_SHORT := TRIALS=60 OPEN_TRIALS=30 CYCLES=200
STORE_LONG  := TRIALS=500 OPEN_TRIALS=200 CYCLES=1000 ROUNDS=20 WRITES=500
store: $(CLI) $(TEST_CLI)
	@env $(STORE_SHORT) bash tests/store/run.sh $(BUILD)/esessionctl $(TEST_CLI)

# check-long also runs every unit test and the harness under valgrind
# (about seven minutes on two cores: too long for make test, whose memory
# checking is the AddressSanitizer + UBSan run).
check-long: $(CLI) $(TEST_CLI)
	@env $(STORE_LONG) bash tests/store/run.sh $(BUILD)/esessionctl $(TEST_CLI)
	@$(MAKE) --no-print-directory xmpp-kill XMPP_KILL='$(XMPP_KILL_LONG)'
	@$(MAKE) --no-print-directory valgrind

# The offline flow through real servers (tests/xmpp/): ejabberd with
# XEP-0013, Prosody with flood delivery, each started on loopback and
# stopped again. make test runs it with the ASan+UBSan build.
xmpp: $(CLI)
	@export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1; \
	bash tests/xmpp/both.sh $(BUILD)/xmpp-logs tests/xmpp/run.sh $(BUILD)

# The delivery promise, scenario by scenario (tests/xmpp/scenarios.sh):
# plain messages, late first stanzas, a lost re-key, expiry, Alice coming
# online, the open node, a full offline queue. Both servers at once (each
# on ports of its own), with the default build.
xmpp-scenarios: $(CLI)
	@bash tests/xmpp/both.sh $(BUILD)/xmpp-logs tests/xmpp/scenarios.sh $(BUILD)
# xmpp-send and xmpp-receive killed (SIGKILL) at random moments through
# both servers (tests/xmpp/kill.sh): nothing Bob sealed may be lost, nothing
# delivered twice. make test: 50 kills of each per server, with the normal
# build (60 to 80 s for both servers here; the ASan build takes 40% longer:
# `make xmpp` runs the commands under ASan), the clients' files on
# /dev/shm; check-long: 250 of each, the files on disk.
XMPP_KILL_SHORT := SEND_KILLS=50 RECV_KILLS=50
XMPP_KILL_LONG  := SEND_KILLS=250 RECV_KILLS=250 PER_RUN=6 WORK_DIR=$(or $(TMPDIR),/tmp)
XMPP_KILL       ?= $(XMPP_KILL_SHORT)
xmpp-kill: $(CLI)
	@env $(XMPP_KILL) bash tests/xmpp/both.sh $(BUILD)/xmpp-logs tests/xmpp/kill.sh $(BUILD)

# Online ESessions (tests/xmpp/chat.sh): two xmpp-chat clients driven
# through FIFOs negotiate (4- and 3-message, crossing requests), compare
# the SAS, chat both ways with re-keys (both at once too) and terminate;
# the offline session is handed over first, and the server's log of every
# stanza holds no plaintext. Both servers at once; make test runs it with
# the AddressSanitizer + UBSan build (a report fails it).
xmpp-chat: $(CLI)
	@export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1; \
	bash tests/xmpp/both.sh $(BUILD)/xmpp-logs tests/xmpp/chat.sh $(BUILD)

# The same flows with every esessionctl call under valgrind: about two
# minutes a server, so not part of make test. A flow that fails fails the
# target; so does a report in any call's log (each call logs to a file of
# its own: a report counts even where the flow expects the command to
# fail), tests/xmpp/valgrind_reports.sh.
VG_XMPP = $(CURDIR)/$(BUILD)/vg
valgrind-xmpp: $(CLI)
	@rm -rf $(VG_XMPP) && mkdir -p $(VG_XMPP)
	@printf '#!/bin/sh\nexec $(VALGRIND) -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --log-file="%s/log.%%p" "%s" "$$@"\n' \
	    "$(VG_XMPP)" "$(CURDIR)/$(BUILD)/esessionctl" > $(VG_XMPP)/esessionctl && chmod +x $(VG_XMPP)/esessionctl
	@for s in ejabberd prosody; do bash tests/xmpp/run.sh $(VG_XMPP) $$s || exit 1; done
	@bash tests/xmpp/valgrind_reports.sh $(VG_XMPP)

# Every unit test binary under valgrind, two at a time, and the harness over
# the protocol and text vectors. Left to the native and ASan runs above: the
# Wycheproof files (thousands of RSA and DSA operations inside OpenSSL) and
# the order-and-loss file (millions of MAC tries in its 2^16 windows).
VALGRIND_VECTORS := $(filter-out vectors/wycheproof/% vectors/esession/offline_accept_order_loss.json,$(VECTOR_FILES))
valgrind: tests-build
	@{ for t in $(UNIT_BINS); do echo "$$t --jobs 1"; done; \
	   echo "$(HARNESS) $(VALGRIND_VECTORS)"; } | sh tests/valgrind.sh $(BUILD)/valgrind

# The installed library works for a two-line program through pkg-config
# (DESTDIR staging, as a packager would), and exports only the public API.
STAGE = $(CURDIR)/$(BUILD)/stage
install-check: lib
	@rm -rf $(STAGE) && $(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr/local >/dev/null
	@printf '#include <esession.h>\nint main(void){return esession_version()[0] == 0;}\n' > $(STAGE)/two.c
	@export PKG_CONFIG_SYSROOT_DIR=$(STAGE) PKG_CONFIG_PATH=$(STAGE)/usr/local/lib/pkgconfig; \
	  $(CC) $(STAGE)/two.c -o $(STAGE)/two $$($(PKG_CONFIG) --cflags --libs esession) && \
	  LD_LIBRARY_PATH=$(STAGE)/usr/local/lib $(STAGE)/two && \
	  echo "install-check: a program built with pkg-config --cflags --libs esession runs"
	@if nm -D --defined-only $(SHARED_LIB) | awk '$$2 == "T" {print $$3}' | grep -v '^esession_'; then \
	  echo "install-check: the symbols above are exported but not public API"; exit 1; fi
	@if [ -n "$(CLI)" ]; then bin=$(STAGE)/usr/local/bin/esessionctl; \
	  if strings $$bin | grep -E 'ESESSIONCTL_NOW|stand-in' || nm $$bin | grep -w cmd_server; then \
	    echo "install-check: the installed esessionctl has the test tool's server stand-in or clock"; exit 1; fi; \
	  echo "install-check: the installed esessionctl has no server stand-in and no clock override"; fi
	@export PKG_CONFIG_SYSROOT_DIR=$(STAGE) PKG_CONFIG_PATH=$(STAGE)/usr/local/lib/pkgconfig; \
	  $(CC) -std=c11 $(WARN) -D_POSIX_C_SOURCE=200809L examples/offline_flow.c -o $(STAGE)/offline_flow \
	    $$($(PKG_CONFIG) --cflags --libs esession) && \
	  $(CC) -std=c11 $(WARN) -D_POSIX_C_SOURCE=200809L examples/strophe_client.c -o $(STAGE)/strophe_client \
	    $$($(PKG_CONFIG) --cflags --libs esession libstrophe) && \
	  LD_LIBRARY_PATH=$(STAGE)/usr/local/lib $(STAGE)/offline_flow > $(STAGE)/offline_flow.out && \
	  grep -q '^3 of 3 messages opened$$' $(STAGE)/offline_flow.out && \
	  echo "install-check: examples/ build against the installed library; offline_flow opened 3 of 3"

# ---- benchmarks (not part of make test: no timing assertions) ----------

BENCH_SRCS  := $(wildcard bench/*.c)
BENCH_OBJS  := $(BENCH_SRCS:%.c=$(BUILD)/obj/%.o)

$(BUILD)/obj/bench/%.o: ALL_CFLAGS += $(BENCH_CFLAGS)

$(BUILD)/esession-bench: $(BENCH_OBJS) $(STATIC_LIB)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(BENCH_OBJS) $(STATIC_LIB) $(PC_LIBS) $(BENCH_LIBS)

# Run from the source tree (it reads tests/data/); BENCH_* variables in
# bench/bench.c set its sizes.
bench: ensure-bench-deps
	@$(MAKE) --no-print-directory $(BUILD)/esession-bench
	$(BUILD)/esession-bench

ensure-bench-deps: ensure-deps
	@if $(PKG_CONFIG) --exists $(PC_BENCH); then :; \
	else $(MAKE) --no-print-directory deps DEPS_PACKAGES="$(DEB_BENCH)"; fi

# ---- constant time (not part of make test: valgrind, a few minutes) ----

# tests/ct/ct_check.c hands the exponentiation and MAC-check paths secrets
# marked undefined for memcheck; any branch or address that depends on one
# is an error. First the canary: a branch on a secret that memcheck must
# report, so that a check that cannot fail is noticed.
CT_BUILD    := build/ct

$(BUILD)/esession-ct: $(BUILD)/obj/tests/ct/ct_check.o $(STATIC_LIB)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(STATIC_LIB) $(PC_LIBS)

ct: ensure-deps
	@$(MAKE) --no-print-directory -j$(NPROC) BUILD=$(CT_BUILD) CT=1 $(CT_BUILD)/esession-ct
	@if $(VALGRIND) -q --error-exitcode=1 $(CT_BUILD)/esession-ct canary >/dev/null 2>&1; then \
	    echo "make ct: memcheck did not see the canary's branch on a secret"; exit 1; fi
	$(VALGRIND) -q --error-exitcode=1 --num-callers=40 --suppressions=tests/ct/ct.supp \
	    $(CT_BUILD)/esession-ct
	@echo "make ct: no branch or memory address depends on a secret"

# ---- demo ---------------------------------------------------------------

# The build's output goes to a log, so that the demo's story is what shows.
demo: ensure-demo-deps
	@mkdir -p $(BUILD)
	@echo "demo: building esessionctl (compiler output in $(BUILD)/demo-build.log)"
	@$(MAKE) --no-print-directory -j$(NPROC) $(CLI) $(TEST_CLI) > $(BUILD)/demo-build.log 2>&1 || \
	    { tail -n 30 $(BUILD)/demo-build.log; exit 1; }
	@$(MAKE) --no-print-directory demo-run

demo-run: $(CLI) $(TEST_CLI)
	@sh demo/run.sh $(BUILD)

# ---- install ------------------------------------------------------------

$(BUILD)/esession.pc: esession.pc.in FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

install: lib $(CLI) $(BUILD)/esession.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0644 include/esession.h $(DESTDIR)$(INCLUDEDIR)/esession.h
	install -m 0644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/libesession.a
	install -m 0755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/libesession.so.$(VERSION)
	ln -sf libesession.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libesession.so.$(SOVERSION)
	ln -sf libesession.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libesession.so
	install -m 0644 $(BUILD)/esession.pc $(DESTDIR)$(PKGCONFIGDIR)/esession.pc
	@if [ -n "$(CLI)" ]; then install -d $(DESTDIR)$(BINDIR) && install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/; fi
	@if [ -f docs/esessionctl.1 ]; then install -d $(DESTDIR)$(MANDIR)/man1 && \
	    install -m 0644 docs/esessionctl.1 $(DESTDIR)$(MANDIR)/man1/; fi

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/esession.h $(DESTDIR)$(LIBDIR)/libesession.a \
	      $(DESTDIR)$(LIBDIR)/libesession.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libesession.so.$(SOVERSION) \
	      $(DESTDIR)$(LIBDIR)/libesession.so $(DESTDIR)$(PKGCONFIGDIR)/esession.pc \
	      $(DESTDIR)$(BINDIR)/esessionctl $(DESTDIR)$(MANDIR)/man1/esessionctl.1

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
FORCE:

include tests/fuzz/fuzz.mk
.PRECIOUS: $(BUILD)/obj/%.o
