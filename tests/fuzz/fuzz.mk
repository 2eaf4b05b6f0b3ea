# tests/fuzz/fuzz.mk - libFuzzer targets, included by the Makefile.
#
#   make fuzz-smoke   build every target, run each for FUZZ_SMOKE_SECONDS
#                     (default 4) on a copy of its seed corpus: the CI pass
#   make fuzz         run each for FUZZ_SECONDS (default 300), keeping the
#                     grown corpus in build-fuzz/corpus/ and crashes in
#                     build-fuzz/artifacts/; FUZZ_TARGETS=fuzz_x limits it
#
# A target is one file: tests/fuzz/fuzz_NAME.c defining
# LLVMFuzzerTestOneInput, plus seeds in tests/fuzz/corpus/fuzz_NAME/ and
# optionally a dictionary tests/fuzz/fuzz_NAME.dict.  Nothing here needs
# editing to add one.
#
# The library is rebuilt with clang and the sanitizers into build-fuzz/:
# the gcc libudpkit.a in build/ has no coverage instrumentation, and
# libFuzzer is blind without it.  Nothing is written outside build-fuzz/.

FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) $(XCFLAGS) $(PKG_CFLAGS)
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_ALL     := $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_BINS    := $(FUZZ_ALL:%=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_LIB     := $(FUZZ_BUILD)/libudpkit-fuzz.a
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 4

.PHONY: fuzz-build fuzz-clean

# Library objects: coverage hooks without libFuzzer's main().
$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (fuzz)")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LDLIBS)

# CI has clang; a machine without it (or without the libFuzzer runtime,
# Debian's libclang-rt-14-dev) skips rather than fails, and says so.
FUZZ_HAVE = $(shell mkdir -p $(FUZZ_BUILD) && \
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' \
	  > $(FUZZ_BUILD)/probe.c && \
	$(FUZZ_CC) -fsanitize=fuzzer,address -o $(FUZZ_BUILD)/probe $(FUZZ_BUILD)/probe.c \
	  >/dev/null 2>&1 && echo yes)

fuzz-build: $(FUZZ_BINS)

fuzz-smoke::
	$(Q)if [ "$(FUZZ_HAVE)" != yes ]; then \
		echo "fuzz-smoke: $(FUZZ_CC) with libFuzzer not found (Debian: apt-get install clang libclang-rt-dev)"; \
		echo "SKIP: fuzz-smoke"; \
	else \
		$(MAKE) --no-print-directory fuzz-build && \
		sh tests/fuzz/run.sh smoke $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS); \
	fi

fuzz:
	$(Q)if [ "$(FUZZ_HAVE)" != yes ]; then \
		echo "fuzz: $(FUZZ_CC) with libFuzzer not found (Debian: apt-get install clang libclang-rt-dev)" >&2; \
		exit 1; \
	fi
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)sh tests/fuzz/run.sh long $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
