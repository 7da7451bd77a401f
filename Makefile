# SPDX-License-Identifier: MIT
# aufs-preload: one non-recursive Makefile. Sources are found by wildcard, so a new
# file needs no edit here. Overrides go in config.mak (CC, CFLAGS, PREFIX).
-include config.mak

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
B       := build
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)

WARN    := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
CFLAGS  ?= -O2 -g
# No _FILE_OFFSET_BITS and no fortify: they would rename the symbols the shims define
# (open would become open64, stat __xstat64...); the *64 names are defined explicitly.
# initial-exec TLS: the library is preloaded, so its 40 bytes of thread-locals sit in
# the static TLS block and each access is one load, not a __tls_get_addr call.
BASEFLAGS := -std=gnu11 -fPIC -fvisibility=hidden -fno-delete-null-pointer-checks \
	-ftls-model=initial-exec \
	-D_GNU_SOURCE -D_LARGEFILE64_SOURCE -U_FORTIFY_SOURCE -Iinclude \
	-DAUFS_VERSION='"$(VERSION)"' $(WARN) -MMD -MP

ifeq ($(SANITIZE),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
B        := build-san
endif

# ThreadSanitizer (make tsan): the library and the thread stress probe only.
ifeq ($(SANITIZE),thread)
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan
B        := build-tsan
endif

# Link-time optimisation for the plain build: a cached call crosses the shim, the
# verb and four core layers, and inlining across those files saves a tenth of its
# instructions (make bench, callgrind). Fat objects keep nm (check-layers) and the
# unit tests' archive working. The sanitizer builds stay without it.
ifeq ($(SANITIZE),)
LTOFLAGS := -flto=auto -ffat-lto-objects
endif

ALL_CFLAGS := $(BASEFLAGS) $(CFLAGS) $(SANFLAGS)

# make V=1 shows every command
ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2)
endif

CORE_SRC    := $(wildcard src/core/*.c)
FAULT_SRC   := $(wildcard src/fault/*.c)
PRELOAD_SRC := $(wildcard src/preload/*.c)
UNIT_SRC    := $(wildcard tests/unit/*.c)
HELPER_SRC  := $(wildcard tests/helper/*.c)
CORE_OBJ    := $(CORE_SRC:%.c=$(B)/%.o)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(B)/%.o)
UNIT_OBJ    := $(UNIT_SRC:%.c=$(B)/%.o)
HELPERS     := $(HELPER_SRC:tests/helper/%.c=$(B)/helper/%)
# The probes again as large-file, fortified programs are built (git, tar, nginx):
# their calls become the *64, __*_2 and __*_chk names.
HELPERS_LFS := $(HELPER_SRC:tests/helper/%.c=$(B)/helper-lfs/%)
# The stress programs (tests/stress/): make stress, and their short form in make check.
STRESS_SRC  := $(wildcard tests/stress/*.c)
STRESS_BIN  := $(STRESS_SRC:tests/stress/%.c=$(B)/stress/%)
LFS_FLAGS   := -D_FILE_OFFSET_BITS=64 -D_FORTIFY_SOURCE=2 -O2

LIB      := $(B)/libaufs-preload.so
CORE_LIB := $(B)/libaufs-core.a
# The core again with every raw call through the fault-injection seam
# (include/aufs/fault.h), for the unit tests only.
FAULT_OBJ := $(CORE_SRC:%.c=$(B)/fault/%.o) $(FAULT_SRC:%.c=$(B)/fault/%.o)
FAULT_LIB := $(B)/libaufs-core-fault.a
RUN_BIN  := $(B)/aufs-run
CTL_BIN  := $(B)/aufsctl
UNIT_BIN := $(B)/check-unit

all: $(LIB) $(RUN_BIN) $(CTL_BIN) $(HELPERS) $(HELPERS_LFS) $(STRESS_BIN)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJ)
	@rm -f $@
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

$(B)/fault/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -DAUFS_FAULT_INJECT -c -o $@ $<

$(FAULT_LIB): $(FAULT_OBJ)
	@rm -f $@
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

$(CORE_OBJ) $(PRELOAD_OBJ) $(LIB): ALL_CFLAGS += $(LTOFLAGS)
# guard.c defines its probes in top-level asm, which LTO partitions do not keep.
$(B)/src/preload/guard.o: ALL_CFLAGS += -fno-lto

$(LIB): $(PRELOAD_OBJ) $(CORE_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -shared -Wl,-z,defs -Wl,-z,now -o $@ $(PRELOAD_OBJ) $(CORE_LIB) \
		-ldl -lpthread $(SANFLAGS)

$(RUN_BIN): $(B)/src/tools/aufs-run.o $(B)/src/tools/session.o $(CORE_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(SANFLAGS)

# aufsctl.c dispatches; its commands live in src/tools/aufsctl_*.c.
CTL_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard src/tools/aufsctl*.c)) $(B)/src/tools/session.o
$(CTL_BIN): $(CTL_OBJ) $(CORE_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(SANFLAGS)

$(B)/helper/%: tests/helper/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(SANFLAGS)

$(B)/helper-lfs/%: tests/helper/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LFS_FLAGS) -Wno-missing-prototypes -o $@ $< $(SANFLAGS)

$(B)/stress/%: tests/stress/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< -lpthread -lrt $(SANFLAGS)

# The unit tests link the fault-injectable core and see the same include/aufs/sys.h.
$(UNIT_BIN): $(UNIT_OBJ) $(FAULT_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(UNIT_OBJ) $(FAULT_LIB) $$(pkg-config --libs check) $(SANFLAGS)

# The unit suites test the core's own layers: they see its private header too.
$(UNIT_OBJ): ALL_CFLAGS += -DAUFS_FAULT_INJECT -Wno-missing-prototypes -Isrc/core \
	$$(pkg-config --cflags check 2>/dev/null)

# ---------------------------------------------------------------- checks
# make check installs what it lacks (as root), then runs every suite and fails on any failure.
check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@$(MAKE) --no-print-directory check-headers check-symbols check-layers check-unit \
		check-integration check-e2e

deps:
	@scripts/deps.sh

check-headers:
	@for h in include/aufs/*.h; do \
		echo "#include \"$${h#include/}\"" | $(CC) $(BASEFLAGS) -x c -fsyntax-only - \
			|| { echo "check-headers: $$h does not compile alone"; exit 1; }; \
	done; echo "check-headers: ok"

# The raw-call rule (doc/HACKING.md): no core object may reference a symbol that the
# library interposes, and every name of the table must be exported by the library.
check-symbols: $(LIB) $(CORE_LIB)
	@B=$(B) scripts/check-symbols.sh

# The core's layers only call downward, and its files form no cycle (doc/HACKING.md).
check-layers: $(CORE_OBJ)
	@B=$(B) scripts/check-layers.sh

check-unit: $(UNIT_BIN)
	@$(UNIT_BIN)

check-integration: all
	@B=$(B) SANITIZE=$(SANITIZE) tests/integration/run.sh $(T)

# make e2e: a real WordPress for several tenants behind nginx and php-fpm, through the kit
# of examples/host/ (tests/e2e/wordpress.sh: root; installs its Debian packages; about a
# minute). make check runs it as root unless AUFS_E2E=0, and says in one line why not
# otherwise (exit 77 of the script is a skip).
e2e: all
	@B=$(B) tests/e2e/wordpress.sh

check-e2e: all
	@if [ -n "$(SANITIZE)" ]; then \
		echo "e2e: skipped: SANITIZE=$(SANITIZE) (php-fpm and nginx run the plain build: make e2e)"; \
	elif [ "$${AUFS_E2E:-1}" = 0 ]; then echo "e2e: skipped: AUFS_E2E=0"; \
	else B=$(B) tests/e2e/wordpress.sh; rc=$$?; [ $$rc = 0 ] || [ $$rc = 77 ]; fi

# The library and the thread probes (tests/helper/stress-threads.c, stress-dirfd.c) built
# with -fsanitize=thread into build-tsan/, for the thread test of the integration suite
# (which calls it).
tsan:
	@$(MAKE) --no-print-directory SANITIZE=thread build-tsan/libaufs-preload.so \
		build-tsan/helper/stress-threads build-tsan/helper/stress-dirfd

# make memcheck: valgrind's memcheck over the whole unit suite, then over the
# integration files of MEMCHECK_TESTS with every program of their unions traced
# (VALGRIND=1: tests/integration/lib.sh), as root only unless
# AUFS_TEST_NO_UNPRIV=0. The subset covers every family of doors (doc/HACKING.md,
# "Memcheck and ThreadSanitizer", says which file covers which, and the times);
# MEMCHECK_TESTS='t*' runs everything (hours). tests/valgrind.supp: the
# suppressions, each explained.
MEMCHECK_TESTS ?= t1005 t2001 t4003 t5002 t7001 t7002
VG_FLAGS := --tool=memcheck -q --error-exitcode=97 --suppressions=tests/valgrind.supp \
	--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	--num-callers=30
memcheck: all $(UNIT_BIN)
	@echo "memcheck: the unit suite ($(UNIT_BIN))"
	@CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-20} valgrind $(VG_FLAGS) $(UNIT_BIN)
	@echo "memcheck: integration files $(MEMCHECK_TESTS)"
	@B=$(B) VALGRIND=1 AUFS_TEST_NO_UNPRIV=$${AUFS_TEST_NO_UNPRIV:-1} \
		tests/integration/run.sh "$(MEMCHECK_TESTS)"

# make tsan-stress [TSAN_SECONDS=N]: the concurrency stress (tests/stress/conc.c,
# 16 processes x 8 threads) with the library and conc under ThreadSanitizer, for N
# seconds (60) with udba=reval and a third of that with udba=none and =inotify
# (tests/stress/tsan-conc.sh); any report fails it.
tsan-stress:
	@$(MAKE) --no-print-directory SANITIZE=thread build-tsan/libaufs-preload.so \
		build-tsan/stress/conc build-tsan/helper/shm-probe
	@B=build-tsan tests/stress/tsan-conc.sh

# ---------------------------------------------------------------- stress and fuzz
# make stress: tests/integration/t9003-stress.sh in full (1,000 crash rounds, 60 s of
# 16 processes x 8 threads, ...; minutes); make check runs its short form.
stress: all
	@B=$(B) SANITIZE=$(SANITIZE) STRESS=full AUFS_TEST_TIMEOUT=$${AUFS_TEST_TIMEOUT:-3600} \
		tests/integration/run.sh t9003

# make fuzz [FUZZ_SECONDS=N]: each libFuzzer target of tests/fuzz/ for N seconds, over
# the core built by clang with ASan and UBSan into build-fuzz/ (tests/fuzz/run.sh).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FB           := build-fuzz
FUZZ_CFLAGS  := -std=gnu11 -mcx16 -D_GNU_SOURCE -D_LARGEFILE64_SOURCE -U_FORTIFY_SOURCE -Iinclude \
	-Isrc/core -DAUFS_VERSION='"$(VERSION)"' -g -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -Wall -Wno-unused-variable
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FB)/%)
FUZZ_CORE    := $(CORE_SRC:src/core/%.c=$(FB)/core/%.o)

$(FB)/core/%.o: src/core/%.c
	@mkdir -p $(dir $@)
	$(call msg,CLANG,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FB)/libaufs-core.a: $(FUZZ_CORE)
	@rm -f $@
	$(Q)ar rcs $@ $^

# A target that includes a core file (to reach its static readers) defines that
# file's symbols itself: the archive's copy is then never pulled in.
$(FB)/fuzz_%: tests/fuzz/fuzz_%.c $(FB)/libaufs-core.a
	$(call msg,CLANG,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FB)/libaufs-core.a -lpthread

fuzz-build: $(FUZZ_BIN)

fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_CC=$(FUZZ_CC) tests/fuzz/run.sh

# ---------------------------------------------------------------- install
install: $(LIB) $(RUN_BIN) $(CTL_BIN)
	install -d $(DESTDIR)$(PREFIX)/lib/aufs $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib/aufs/libaufs-preload.so
	install -m 0755 $(RUN_BIN) $(DESTDIR)$(PREFIX)/lib/aufs/aufs-run
	sed 's|^AUFS_LIBDIR=.*|AUFS_LIBDIR=$(PREFIX)/lib/aufs|' bin/aufs-run \
		> $(DESTDIR)$(PREFIX)/bin/aufs-run
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/aufs-run
	install -m 0755 $(CTL_BIN) $(DESTDIR)$(PREFIX)/lib/aufs/aufsctl
	sed 's|^AUFS_LIBDIR=.*|AUFS_LIBDIR=$(PREFIX)/lib/aufs|' bin/aufsctl \
		> $(DESTDIR)$(PREFIX)/bin/aufsctl
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/aufsctl
	for m in man/*.1; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done; true
	for m in man/*.7; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man7/; done; true
	for m in man/*.8; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man8/; done; true

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/aufs/libaufs-preload.so $(DESTDIR)$(PREFIX)/lib/aufs/aufs-run \
		$(DESTDIR)$(PREFIX)/bin/aufs-run $(DESTDIR)$(PREFIX)/lib/aufs/aufsctl \
		$(DESTDIR)$(PREFIX)/bin/aufsctl
	-rmdir $(DESTDIR)$(PREFIX)/lib/aufs
	for m in man/*.1; do rm -f $(DESTDIR)$(PREFIX)/share/man/man1/$${m#man/}; done
	for m in man/*.7; do rm -f $(DESTDIR)$(PREFIX)/share/man/man7/$${m#man/}; done
	for m in man/*.8; do rm -f $(DESTDIR)$(PREFIX)/share/man/man8/$${m#man/}; done

demo: all
	@scripts/demo.sh

# The union against native, kernel overlay and FUSE unions (never part of check).
bench: all
	@B=$(B) bench/run.sh

clean:
	rm -rf build build-san build-tsan build-fuzz

.PHONY: bench all check check-e2e e2e memcheck tsan tsan-stress stress fuzz fuzz-build deps check-headers check-symbols check-layers check-unit check-integration install \
	uninstall demo clean

-include $(shell find $(B) -name '*.d' 2>/dev/null)
