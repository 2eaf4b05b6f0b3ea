# udpkit - plain Makefile.  `make` builds libudpkit.a and the tools,
# `make test` installs what is missing, builds and runs every test,
# `make asan` runs the same tests under AddressSanitizer + UBSan.

# The version is written once, in include/udpkit/udpkit_version.h.
vpart       = $(shell sed -n 's/^\#define UDPKIT_VERSION_$(1) \([0-9]*\)$$/\1/p' include/udpkit/udpkit_version.h)
VERSION_MAJOR := $(call vpart,MAJOR)
VERSION_MINOR := $(call vpart,MINOR)
VERSION_PATCH := $(call vpart,PATCH)
VERSION    := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
# The soname's number counts incompatible ABI changes (abi/libudpkit.abi,
# `make abi-update`), not releases: bump it when abidiff reports one.
SOMAJOR    := 0
PREFIX     ?= /usr/local
DESTDIR    ?=
BUILD      ?= build

CC         ?= cc
CFLAGS     ?= -O2 -g
XCFLAGS    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP
# include/udpkit holds the public headers (installed); each folder keeps its
# internal ones (not installed).  Both are on the path, so "rel.h" and
# "rel_int.h" resolve alike inside the tree.
XCFLAGS    += -Iinclude/udpkit -Iinclude -Iudp -Inetsim -Iseal -Ireliable -Ichat -Itools
PKG_CFLAGS := $(shell pkg-config --cflags libsodium 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs libsodium 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
LDLIBS     += $(PKG_LIBS) -lm

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC    := $(sort $(wildcard udp/*.c netsim/*.c seal/*.c reliable/*.c chat/*.c))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB        := $(BUILD)/libudpkit.a

# tools/tool_*.c is the kit the tools share, in an archive so that each
# program links only the members it uses; tools/tool_bench_*.c is udpbench's
# alone.  Every other tools/*.c is a program.
TOOL_BENCH  := $(sort $(wildcard tools/tool_bench_*.c))
TOOL_KIT    := $(filter-out $(TOOL_BENCH),$(sort $(wildcard tools/tool_*.c)))
TOOL_MAINS  := $(filter-out $(TOOL_KIT) $(TOOL_BENCH),$(sort $(wildcard tools/*.c)))
TOOL_KIT_OBJ := $(TOOL_KIT:%.c=$(BUILD)/%.o)
TOOL_BENCH_OBJ := $(TOOL_BENCH:%.c=$(BUILD)/%.o)
TOOL_LIB    := $(BUILD)/libtool.a
TOOLS       := $(TOOL_MAINS:tools/%.c=$(BUILD)/bin/%)
# --pcap (tools/tool_pcap.c, the only user of libpcap); --as-needed so a
# tool that does not pull tool_pcap.o from the kit records no libpcap.
TOOL_LIBS   := -Wl,--as-needed -lpcap -Wl,--no-as-needed

# tests/test_*.c are cmocka programs; tests/support_*.c is shared by them.
TEST_SUPPORT := $(sort $(wildcard tests/support_*.c))
TEST_SRC    := $(sort $(wildcard tests/test_*.c))
TEST_BINS   := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT_OBJ := $(TEST_SUPPORT:%.c=$(BUILD)/%.o)
# tests/helpers/*.c are small programs the end-to-end tests run.
HELPER_SRC  := $(sort $(wildcard tests/helpers/*.c))
HELPERS     := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/helpers/%)

# The public headers: the only ones installed, the only ones whose
# functions libudpkit.so exports (UDPKIT_API), and the ABI baseline's scope.
# Headers in the module folders are internal.
PUB_HEADERS := $(sort $(wildcard include/udpkit/*.h))
MANPAGES    := $(sort $(wildcard docs/man/*.1))
MANPAGES3   := $(sort $(wildcard docs/man/*.3))

.PHONY: all deps test check asan asan-check bench bench-chat demo install uninstall clean fuzz \
	fuzz-smoke abi-check abi-update FORCE

all: $(LIB) $(TOOLS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(TOOL_LIB): $(TOOL_KIT_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# A program's own objects besides its main (TOOL_OBJ_<name>).
TOOL_OBJ_udpbench := $(TOOL_BENCH_OBJ)
.SECONDEXPANSION:
$(BUILD)/bin/%: $(BUILD)/tools/%.o $$(TOOL_OBJ_$$*) $(TOOL_LIB) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) $(LDFLAGS) -o $@ $< $(TOOL_OBJ_$*) $(TOOL_LIB) $(LIB) $(LDLIBS) $(TOOL_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_SUPPORT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJ) $(LIB) $(CMOCKA_LIBS) $(LDLIBS)

# A helper that needs a library of its own sets HELPER_LIBS_<name> (e.g. in
# tests/helpers/helpers.mk).
-include tests/helpers/helpers.mk
$(BUILD)/helpers/%: $(BUILD)/tests/helpers/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(HELPER_LIBS_$*) $(LDLIBS)

# Installs what is missing (Debian; nothing is fetched when all is there).
deps:
	@sh tools/deps.sh

# The README's test command: dependencies, build, every test, then the
# same suite under the sanitizers.  A sub-make re-reads pkg-config once
# deps has installed it.
test: deps
	$(Q)$(MAKE) --no-print-directory check
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	$(Q)$(MAKE) --no-print-directory asan-check

check: all $(TEST_BINS) $(HELPERS)
	$(Q)BUILD=$(BUILD) sh tests/run.sh

ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan: deps
	$(Q)$(MAKE) --no-print-directory asan-check

asan-check:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" check

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(HELPERS)
	$(Q)BUILD=$(BUILD) bash tests/bench/bench.sh

# udpchat meshes of 4, 16 and 50 peers at 20 % loss (needs root: a netns)
bench-chat: all
	$(Q)BUILD=$(BUILD) bash tests/bench/bench_chat.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) bash tools/demo.sh

# udpkit.pc, written on every install (FORCE) so that it always names the
# PREFIX of this install.  Libs is what a dynamic link needs (libudpkit.so
# carries its own DT_NEEDED on libsodium); `pkg-config --static` adds
# libsodium (Requires.private) and libm for libudpkit.a.  Cflags names
# include/ itself: programs write <udpkit.h> or <udpkit/rel.h>, never a bare
# <rel.h> that could collide with another package's headers.
$(BUILD)/udpkit.pc: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: udpkit' 'Description: messaging over UDP datagrams' 'Version: $(VERSION)' \
	  'Requires.private: libsodium' 'Cflags: -I$${includedir}' \
	  'Libs: -L$${libdir} -ludpkit' 'Libs.private: -lm' > $@

# ldconfig only when installing for real, as root, into a prefix the
# loader's cache covers (a new soname there is found only after it);
# never for a DESTDIR staging install or any other PREFIX.
install: all $(BUILD)/udpkit.pc
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include/udpkit $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man3
	install -m 0755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(SO_REAL) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libudpkit.so
	install -m 0644 include/udpkit.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 $(PUB_HEADERS) $(DESTDIR)$(PREFIX)/include/udpkit/
	install -m 0644 $(BUILD)/udpkit.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	$(if $(MANPAGES),install -m 0644 $(MANPAGES) $(DESTDIR)$(PREFIX)/share/man/man1/)
	$(if $(MANPAGES3),install -m 0644 $(MANPAGES3) $(DESTDIR)$(PREFIX)/share/man/man3/)
	$(if $(DESTDIR),,$(if $(filter /usr /usr/local,$(PREFIX)),@if [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi))

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(TOOLS))) \
	  $(DESTDIR)$(PREFIX)/lib/libudpkit.a $(DESTDIR)$(PREFIX)/lib/pkgconfig/udpkit.pc \
	  $(DESTDIR)$(PREFIX)/lib/$(SO_REAL) $(DESTDIR)$(PREFIX)/lib/$(SONAME) $(DESTDIR)$(PREFIX)/lib/libudpkit.so \
	  $(DESTDIR)$(PREFIX)/include/udpkit.h \
	  $(addprefix $(DESTDIR)$(PREFIX)/share/man/man1/,$(notdir $(MANPAGES))) \
	  $(addprefix $(DESTDIR)$(PREFIX)/share/man/man3/,$(notdir $(MANPAGES3)))
	rm -rf $(DESTDIR)$(PREFIX)/include/udpkit

clean:
	rm -rf build build-asan

# Position-independent objects for the shared objects built from the
# library's sources (udpnetsim's preload library, the Python extension), in
# $(BUILD)/pic so that libudpkit.a, the tools and the benchmarks keep their
# code generation.  Never with the sanitizers: an ASan .so cannot be loaded
# into a program built without ASan (python3, nc).
# -g whatever CFLAGS say: abidw reads the shared library's types from its
# DWARF (make abi-check).
PIC_CFLAGS  := $(filter-out -fsanitize=% -fno-sanitize%,$(CFLAGS)) -g -fPIC -fvisibility=hidden
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC PIC  $<")
	$(Q)$(CC) $(PIC_CFLAGS) $(XCFLAGS) $(PKG_CFLAGS) -c -o $@ $<

# libudpkit.so: the library for programs of others, from the PIC objects
# above.  -fvisibility=hidden keeps every function hidden but those declared
# UDPKIT_API in include/udpkit/ (udpkit_api.h).  chat/ is udpchat's and
# stays out.  Real name libudpkit.so.SOMAJOR.MINOR.PATCH, soname
# libudpkit.so.SOMAJOR (what programs record), and the development link
# libudpkit.so (what -ludpkit finds).  -z defs: every reference resolved
# here or in the libraries named, so a program needs nothing more.
SONAME     := libudpkit.so.$(SOMAJOR)
SO_REAL    := $(SONAME).$(VERSION_MINOR).$(VERSION_PATCH)
SO         := $(BUILD)/lib/$(SO_REAL)
SO_OBJ     := $(patsubst %.c,$(BUILD)/pic/%.o,$(filter-out chat/%,$(LIB_SRC)))
all: $(SO)
$(SO): $(SO_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(PIC_CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,-z,defs -Wl,-z,relro,-z,now \
	  -o $@ $^ $(PKG_LIBS) -lm
	$(Q)ln -sf $(SO_REAL) $(BUILD)/lib/$(SONAME) && ln -sf $(SONAME) $(BUILD)/lib/libudpkit.so

# The ABI baseline (abi/libudpkit.abi, abidw's XML of what the public
# headers reach), checked by tests/e2e/abi.sh in `make check`.  Only the
# types of include/udpkit/ count (--headers-dir, --drop-private-types);
# source locations are left out so that moving a line changes nothing.
# After a deliberate change: `make abi-update` and commit the file (and
# bump SOMAJOR when abidiff called the change incompatible).
ABI_FILE   := abi/libudpkit.abi
ABIDW_FLAGS := --headers-dir include/udpkit --drop-private-types --no-show-locs \
	--no-comp-dir-path --no-corpus-path
abi-update: $(SO)
	@mkdir -p $(dir $(ABI_FILE))
	abidw $(ABIDW_FLAGS) --out-file $(ABI_FILE) $(SO)
	@echo "abi-update: $(ABI_FILE) rewritten; review 'git diff $(ABI_FILE)' and commit it"
# (The baseline is already reduced to the public types, so only the
# library's side takes --hd2; abidiff 2.2 asserts on --hd1 with an XML file.)
ABIDIFF_FLAGS := --hd2 include/udpkit --drop-private-types
abi-check: $(SO)
	abidiff $(ABIDIFF_FLAGS) $(ABI_FILE) $(SO)

# udpnetsim's LD_PRELOAD library (tools/preload/, docs/man/udpnetsim.1): its
# own sources and the netsim model compiled -fPIC into one .so, symbols
# hidden but the wrapped libc calls.  The model comes from the PIC archive
# with --exclude-libs, which hides its members' symbols even where the
# public headers ask for default visibility (UDPKIT_API): the preload
# library, loaded into every process, must not offer netsim_* to others.
PRELOAD_SRC := $(sort $(wildcard tools/preload/*.c))
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(BUILD)/pic/%.o)
PRELOAD_SO  := $(BUILD)/lib/libudpkit-netsim-preload.so
all: $(PRELOAD_SO)
$(PRELOAD_SO): $(PRELOAD_OBJ) $(BUILD)/pic/libudpkit.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(PIC_CFLAGS) -shared -Wl,-z,defs -Wl,--exclude-libs,ALL -o $@ $^ -ldl -lpthread -lm
install: install-preload
install-preload: $(PRELOAD_SO)
	install -D -m 0755 $(PRELOAD_SO) $(DESTDIR)$(PREFIX)/lib/$(notdir $(PRELOAD_SO))
uninstall: uninstall-preload
uninstall-preload:
	rm -f $(DESTDIR)$(PREFIX)/lib/$(notdir $(PRELOAD_SO))
.PHONY: install-preload uninstall-preload

# `make python`: the CPython extension python/udpkit/_udpkit*.so for the
# interpreter $(PYTHON).  It links a PIC copy of the library, built apart in
# $(BUILD)/pic, so that libudpkit.a, the tools and the benchmarks keep their
# code generation.  (= not :=, so that only this target runs $(PYTHON).)
PYTHON     ?= python3
PY_INC      = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
PY_EXT      = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
PIC_LIB    := $(BUILD)/pic/libudpkit.a
PY_SRC     := $(sort $(wildcard python/*.c))

.PHONY: python
python: $(PIC_LIB)
	@$(if $(Q),echo "  PY      python/udpkit/_udpkit$(PY_EXT) ($(PYTHON))")
	$(Q)test -f "$(PY_INC)/Python.h" || { echo "make python: no $(PY_INC)/Python.h (Debian: apt-get install python3-dev)" >&2; exit 1; }
	$(Q)$(CC) $(filter-out -fsanitize=% -fno-sanitize%,$(CFLAGS)) $(XCFLAGS) -fPIC -shared -Ipython -I$(PY_INC) $(PKG_CFLAGS) \
	  -Wl,--exclude-libs,ALL -o python/udpkit/_udpkit$(PY_EXT) $(PY_SRC) $(PIC_LIB) $(PKG_LIBS) -lm -lpthread

# `make install` also installs the module into $(PYTHON)'s platform
# site directory under PREFIX (e.g. /usr/local/lib/python3.11/dist-packages
# on Debian), when that interpreter has its headers; else it says why not.
PY_SITE     = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("platlib", vars={"base": "$(PREFIX)", "platbase": "$(PREFIX)"}))')
install: install-python
install-python:
	@if $(PYTHON) -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null; then \
	  $(MAKE) --no-print-directory python && \
	  install -d $(DESTDIR)$(PY_SITE)/udpkit && \
	  install -m 0644 python/udpkit/__init__.py $(DESTDIR)$(PY_SITE)/udpkit/ && \
	  install -m 0755 python/udpkit/_udpkit$(PY_EXT) $(DESTDIR)$(PY_SITE)/udpkit/ && \
	  echo "install: python module in $(DESTDIR)$(PY_SITE)/udpkit"; \
	else echo "install: python module skipped ($(PYTHON) has no Python.h; Debian: python3-dev)"; fi
uninstall: uninstall-python
uninstall-python:
	rm -rf $(DESTDIR)$(PY_SITE)/udpkit
.PHONY: install-python uninstall-python

$(PIC_LIB): $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# libFuzzer targets: `make fuzz` (long run), `make fuzz-smoke` (CI pass).
fuzz-smoke::
-include tests/fuzz/fuzz.mk

# Objects made on the way to a program are kept (not deleted as
# intermediates).  Not a bare .SECONDARY:, which marks every target
# secondary, the -MP stubs of headers included: a header that was moved or
# deleted then never forced a rebuild, leaving objects compiled against it.
.PRECIOUS: $(BUILD)/%.o $(FUZZ_BUILD)/%.o
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
