# tests/fuzz/fuzz.mk: libFuzzer targets (tests/fuzz/README.md), included
# from the top-level Makefile, whose BUILD, LIB_SRCS, WARN, DEFS, PC_CFLAGS,
# PC_LIBS, NPROC and Q it uses.
#   make fuzz-build    every target, with clang -fsanitize=fuzzer,address,undefined
#   make fuzz-short    each target FUZZ_SHORT_TIME s from its seeds (2 at a time)
#   make fuzz-long     each target FUZZ_LONG_TIME s
#   make fuzz-corpus   regenerate the library-made seeds under tests/fuzz/corpus/
# A crash, leak, timeout or out-of-memory fails the run and leaves its input
# in $(BUILD)/fuzz/ (fuzz_<target>-crash-<sha1> and the like).

FUZZ_CC         ?= clang
FUZZ_SHORT_TIME ?= 20
FUZZ_LONG_TIME  ?= 600
FUZZ_JOBS       ?= $(NPROC)
FUZZ_TIME       ?= $(FUZZ_SHORT_TIME)
FUZZ_WORK       ?= $(BUILD)/fuzz/corpus

FUZZ_TOP     := $(firstword $(MAKEFILE_LIST))
FUZZ_SRC     := tests/fuzz
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_OBJ     := $(FUZZ_DIR)/obj
FUZZ_TARGETS := fuzz_stanza_open fuzz_options_items fuzz_forms fuzz_records \
                fuzz_cli_split fuzz_seal_open
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
FUZZ_LIB     := $(FUZZ_DIR)/libesession-fuzz.a
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_OBJ)/%.o)
FUZZ_COMMON  := $(FUZZ_OBJ)/$(FUZZ_SRC)/fuzz_common.o
FUZZ_GEN     := $(FUZZ_DIR)/gen_corpus

# The library as the other builds compile it, minus _FORTIFY_SOURCE (it
# hides calls from ASan); warnings shown but not fatal for its sources, as
# another compiler's warnings are not this build's business. Our own files:
# the project's warnings, -Werror included.
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  = -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
               $(filter-out -D_FORTIFY_SOURCE=%,$(DEFS)) -Iinclude $(PC_CFLAGS) \
               -DFZ_DATA_DIR='"$(CURDIR)/tests/data"'
FUZZ_LIB_WARN := $(filter-out -Werror,$(WARN))

# What each run gets: libFuzzer stops by itself; ASan reports leaks.
FUZZ_RUN_FLAGS ?= -timeout=10 -rss_limit_mb=2560 -print_final_stats=1
FUZZ_DICT_fuzz_stanza_open    := $(FUZZ_SRC)/xml.dict
FUZZ_DICT_fuzz_options_items  := $(FUZZ_SRC)/xml.dict
FUZZ_DICT_fuzz_forms          := $(FUZZ_SRC)/xml.dict
FUZZ_DICT_fuzz_cli_split      := $(FUZZ_SRC)/xml.dict

# fuzz-run-<target> are left out: make skips pattern rules for phony targets.
.PHONY: fuzz-build fuzz-short fuzz-long fuzz-corpus fuzz-runs

fuzz-build: $(FUZZ_BINS)

# Debian's clang finds libFuzzer in libclang-rt-14-dev, which clang only
# recommends: say so rather than fail on a link error.
$(FUZZ_DIR)/toolchain.ok:
	@mkdir -p $(FUZZ_DIR)
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return !d || !n; }\n' | \
	  $(FUZZ_CC) -x c -fsanitize=fuzzer,address,undefined -o $(FUZZ_DIR)/toolchain-probe - \
	  >/dev/null 2>&1 || { echo "fuzz: '$(FUZZ_CC) -fsanitize=fuzzer' does not link; on Debian 12:"; \
	  echo "  apt-get install --no-install-recommends clang libclang-rt-14-dev"; exit 1; }
	@rm -f $(FUZZ_DIR)/toolchain-probe && touch $@

$(FUZZ_OBJ)/%.o: %.c | $(FUZZ_DIR)/toolchain.ok
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC(fuzz) $<")
	$(Q)$(FUZZ_CC) $(FUZZ_LIB_WARN) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_OBJ)/$(FUZZ_SRC)/%.o: $(FUZZ_SRC)/%.c | $(FUZZ_DIR)/toolchain.ok
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC(fuzz) $<")
	$(Q)$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

# fuzz_cli_split takes the CLI's scanner; the others the library.
$(FUZZ_DIR)/fuzz_cli_split: $(FUZZ_OBJ)/$(FUZZ_SRC)/fuzz_cli_split.o $(FUZZ_OBJ)/cli/xmlscan.o
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_OBJ)/$(FUZZ_SRC)/fuzz_%.o $(FUZZ_COMMON) $(FUZZ_LIB)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PC_LIBS)

# The seed generator: the same set-up code, run once without libFuzzer.
$(FUZZ_GEN): $(FUZZ_OBJ)/$(FUZZ_SRC)/gen_corpus.o $(FUZZ_COMMON) $(FUZZ_LIB)
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(PC_LIBS)

fuzz-corpus: $(FUZZ_GEN)
	$(FUZZ_GEN) $(FUZZ_SRC)/corpus

# Each target from its seeds (read-only) and a working corpus: a fresh one
# for fuzz-short, $(BUILD)/fuzz/corpus/ (kept between runs) for fuzz-long.
# -k: every target runs even when one fails; the make target still fails.
fuzz-run-%: $(FUZZ_DIR)/%
	@sh $(FUZZ_SRC)/run.sh $< $(FUZZ_SRC)/corpus/$* $(FUZZ_WORK)/$* $(FUZZ_DIR) $(FUZZ_TIME) \
	    $(FUZZ_RUN_FLAGS) $(if $(FUZZ_DICT_$*),-dict=$(FUZZ_DICT_$*))

fuzz-runs: $(FUZZ_TARGETS:%=fuzz-run-%)

fuzz-short: fuzz-build
	@rm -rf $(FUZZ_DIR)/corpus-short; start=$$(date +%s); \
	$(MAKE) --no-print-directory -k -f $(FUZZ_TOP) -j$(FUZZ_JOBS) fuzz-runs \
	    FUZZ_TIME=$(FUZZ_SHORT_TIME) FUZZ_WORK=$(FUZZ_DIR)/corpus-short || exit 1; \
	echo "fuzz-short: every target passed ($$(( $$(date +%s) - start )) s)"

# make test: every target from its seeds for a fixed number of runs from a
# fixed seed, so that each run tries the same inputs: a failure there is a
# regression, never bad luck. About 40 s of fuzzing on two cores.
FUZZ_CHECK_RUNS_fuzz_stanza_open   := 12000
FUZZ_CHECK_RUNS_fuzz_options_items := 40000
FUZZ_CHECK_RUNS_fuzz_forms         := 80000
FUZZ_CHECK_RUNS_fuzz_records       := 80000
FUZZ_CHECK_RUNS_fuzz_cli_split     := 80000
FUZZ_CHECK_RUNS_fuzz_seal_open     := 600
.PHONY: fuzz-check fuzz-checks
fuzz-check-run-%: $(FUZZ_DIR)/%
	@sh $(FUZZ_SRC)/run.sh $< $(FUZZ_SRC)/corpus/$* $(FUZZ_DIR)/corpus-check/$* $(FUZZ_DIR) 120 \
	    $(FUZZ_RUN_FLAGS) -seed=1 -runs=$(FUZZ_CHECK_RUNS_$*) \
	    $(if $(FUZZ_DICT_$*),-dict=$(FUZZ_DICT_$*))

fuzz-checks: $(FUZZ_TARGETS:%=fuzz-check-run-%)

fuzz-check: fuzz-build
	@rm -rf $(FUZZ_DIR)/corpus-check; start=$$(date +%s); \
	$(MAKE) --no-print-directory -k -f $(FUZZ_TOP) -j$(FUZZ_JOBS) fuzz-checks || exit 1; \
	echo "fuzz-check: every target passed its fixed runs ($$(( $$(date +%s) - start )) s)"

fuzz-long: fuzz-build
	@$(MAKE) --no-print-directory -k -f $(FUZZ_TOP) -j$(FUZZ_JOBS) fuzz-runs \
	    FUZZ_TIME=$(FUZZ_LONG_TIME) FUZZ_WORK=$(FUZZ_DIR)/corpus
	@echo "fuzz-long: every target passed"

.PRECIOUS: $(FUZZ_OBJ)/%.o $(FUZZ_OBJ)/$(FUZZ_SRC)/%.o
-include $(shell find $(FUZZ_OBJ) -name '*.d' 2>/dev/null)
