# Stafet: build, test, demo and install.
#   make            build build/stafetd
#   make check      install missing Debian packages, build, run the tests (about 15 min)
#   make check-world  all of make check, and the plain-build, all-valgrind,
#                   timed fuzzing and slow tests
#   make demo       install what is missing, start a demo set-up, print the URL
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
DATADIR    ?= $(PREFIX)/share/stafet
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc/stafet
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DESTDIR    ?=

CC       ?= cc
PYTHON   ?= /usr/bin/python3
PKGS     := libevent jansson ldap libpq libcurl libcrypto xlsxwriter cairo pangocairo pangoft2 fontconfig
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wcast-qual -Wsign-compare -Wformat=2 -Wvla
CFLAGS   ?= -O2 -g
STD      := -std=c11 -D_GNU_SOURCE
DEFS     := -DSTAFET_SYSCONFDIR='"$(SYSCONFDIR)"' -DSTAFET_DATADIR='"$(DATADIR)"'
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = $(STD) $(WARNINGS) $(CFLAGS) $(DEFS) -Idaemon -Idirectory -Iauth -Ihandover -Iapi -Iapp \
             -Ibuild/gen $(PKG_CFLAGS) \
             -pthread -MMD -MP
LIBS       = $(PKG_LIBS) -lm -pthread

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# The ASan+UBSan build is the test build: its clock can be moved by a test
# (daemon/clock.c). build/stafetd, which make install installs, cannot.
TEST_DEFS := -DSTAFET_TEST_CLOCK

# The layers (DESIGN.md "Architecture"): daemon/ the core; directory/, auth/
# and handover/ the domain; api/ the HTTP handlers; app/ the wiring.
SRCS     := $(wildcard daemon/*.c directory/*.c auth/*.c handover/*.c api/*.c app/*.c)
HDRS     := $(wildcard daemon/*.h directory/*.h auth/*.h handover/*.h api/*.h app/*.h)
MIGRATIONS := $(sort $(wildcard schema/sql/*.sql))
GEN      := build/gen/migrations_gen.c build/gen/openapi_gen.c build/gen/route_seeds_gen.c \
            build/gen/template_seeds_gen.c build/gen/names_gen.c
LIB_SRCS := $(filter-out app/main.c,$(SRCS)) $(GEN)
OBJS     := $(patsubst %.c,build/obj/%.o,$(SRCS) $(GEN))
SAN_OBJS := $(patsubst %.c,build/asan/obj/%.o,$(SRCS) $(GEN))
TEST_OBJS := $(patsubst %.c,build/test/obj/%.o,$(SRCS) $(GEN))
LIB_OBJS := $(patsubst %.c,build/obj/%.o,$(LIB_SRCS))
SAN_LIB_OBJS := $(patsubst %.c,build/asan/obj/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,build/tests/%,$(UNIT_SRCS))
SAN_UNIT_BINS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRCS))

.PHONY: all asan testbuild deps ui-assets check check-world unit demo demo-stop install clean format format-check bench FORCE
all: build/stafetd

# The compiled-in paths follow PREFIX: rebuild when they change.
build/flags: FORCE
	@mkdir -p build
	@echo '$(DEFS) $(CFLAGS)' | cmp -s - $@ || echo '$(DEFS) $(CFLAGS)' > $@
$(OBJS) $(SAN_OBJS): build/flags
build/asan/flags: FORCE
	@mkdir -p build/asan
	@echo '$(SAN_FLAGS) $(TEST_DEFS)' | cmp -s - $@ || echo '$(SAN_FLAGS) $(TEST_DEFS)' > $@
$(SAN_OBJS): build/asan/flags
build/test/flags: FORCE
	@mkdir -p build/test
	@echo '$(DEFS) $(CFLAGS) $(TEST_DEFS)' | cmp -s - $@ || echo '$(DEFS) $(CFLAGS) $(TEST_DEFS)' > $@
$(TEST_OBJS): build/test/flags

build/gen/migrations_gen.c: $(MIGRATIONS) scripts/embed.sh
	@mkdir -p $(@D)
	sh scripts/embed.sh migrations $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

ROUTE_SEEDS := $(sort $(wildcard schema/routes/*.json))
build/gen/route_seeds_gen.c: $(ROUTE_SEEDS) scripts/embed.sh
	@mkdir -p $(@D)
	for f in $(ROUTE_SEEDS); do $(PYTHON) -m json.tool $$f > /dev/null || exit 1; done
	sh scripts/embed.sh files route_seeds $(ROUTE_SEEDS) > $@.tmp && mv $@.tmp $@

TEMPLATE_SEEDS := $(sort $(wildcard schema/templates/*.json))
build/gen/template_seeds_gen.c: $(TEMPLATE_SEEDS) scripts/embed.sh
	@mkdir -p $(@D)
	for f in $(TEMPLATE_SEEDS); do $(PYTHON) -m json.tool $$f > /dev/null || exit 1; done
	sh scripts/embed.sh files template_seeds $(TEMPLATE_SEEDS) > $@.tmp && mv $@.tmp $@

NAMES := $(sort $(wildcard schema/names/*.json))
build/gen/names_gen.c: $(NAMES) scripts/embed.sh
	@mkdir -p $(@D)
	for f in $(NAMES); do $(PYTHON) -m json.tool $$f > /dev/null || exit 1; done
	sh scripts/embed.sh files names_data $(NAMES) > $@.tmp && mv $@.tmp $@

build/gen/openapi_gen.c: docs/openapi.json scripts/embed.sh
	@mkdir -p $(@D)
	$(PYTHON) -m json.tool docs/openapi.json > /dev/null
	sh scripts/embed.sh blob openapi_json docs/openapi.json > $@.tmp && mv $@.tmp $@

build/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

build/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(TEST_DEFS) -c $< -o $@

# The plain build with the test clock, for the tests under valgrind.
build/test/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_DEFS) -c $< -o $@

build/stafetd: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $(OBJS) $(LIBS)

asan: build/asan/stafetd
build/asan/stafetd: $(SAN_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $(SAN_OBJS) $(LIBS)

testbuild: build/test/stafetd
build/test/stafetd: $(TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(TEST_OBJS) $(LIBS)

# Unit tests link the files they test and what those need, no more
# (DESIGN.md: unit tests beside the logic, linking only it and the core).
# Each layer is an archive (build/unit/lib<layer>.a): the linker takes from
# it only the members a test's undefined symbols name, so test_fold links
# fold.o and log.o, and a file split in two breaks no list. A test links its
# files and the archives of their layer and those below, no higher: a call
# upward from a lower layer's test fails its link. The libraries are taken
# --as-needed: a test that pulls in no libpq code does not load libpq.
# A test not listed here links every object (LIB_OBJS).
UNIT_test_log        := daemon/log
UNIT_test_clock      := daemon/clock
UNIT_test_json       := daemon/json
UNIT_test_http_parse := daemon/http_parse
UNIT_test_http_peers := daemon/http_peers app/config_keys
UNIT_test_config     := daemon/config app/config_keys
UNIT_test_fold       := directory/fold
UNIT_test_names      := daemon/names
UNIT_test_index      := directory/index
UNIT_test_resolve    := directory/resolve directory/resolve_answer directory/resolve_unit \
                        directory/resolve_text directory/resolve_rules
UNIT_test_snapshot   := directory/snapshot
UNIT_test_schema     := directory/schema
UNIT_test_auth       := auth/auth app/config_keys
UNIT_test_access     := handover/access
UNIT_test_checks     := handover/checks
UNIT_test_mail       := handover/mail
UNIT_test_states     := handover/states
UNIT_test_workdays   := handover/workdays
UNIT_test_reports    := api/reports_figures
UNIT_test_reports_cache := api/reports_cache api/reports_figures
UNIT_test_pdf        := api/pdf_render
# From the top: a layer and those below it (scripts/layers.py's order).
UNIT_LAYERS := app api handover auth directory daemon
UNIT_BELOW_app       := app api handover auth directory daemon
UNIT_BELOW_api       := api handover auth directory daemon
UNIT_BELOW_handover  := handover auth directory daemon
UNIT_BELOW_auth      := auth directory daemon
UNIT_BELOW_directory := directory daemon
UNIT_BELOW_daemon    := daemon
unit_layer_srcs = $(filter $(1)/% $(if $(filter daemon,$(1)),build/gen/%),$(LIB_SRCS))
unit_top = $(firstword $(foreach l,$(UNIT_LAYERS),$(if $(filter $(l)/%,$(UNIT_$(1))),$(l))))
# $(1): object folder, $(2): archive folder, $(3): test name
unit_prereqs = $(if $(UNIT_$(3)),$(patsubst %,$(1)/%.o,$(UNIT_$(3))) \
               $(patsubst %,$(2)/lib%.a,$(UNIT_BELOW_$(call unit_top,$(3)))),\
               $(patsubst %.c,$(1)/%.o,$(LIB_SRCS)))

define unit_archive
build/unit/lib$(1).a: $$(patsubst %.c,build/obj/%.o,$$(call unit_layer_srcs,$(1)))
	@mkdir -p $$(@D)
	@rm -f $$@
	ar rcs $$@ $$^
build/asan/unit/lib$(1).a: $$(patsubst %.c,build/asan/obj/%.o,$$(call unit_layer_srcs,$(1)))
	@mkdir -p $$(@D)
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach l,$(UNIT_LAYERS),$(eval $(call unit_archive,$(l))))
$(foreach t,$(patsubst tests/unit/%.c,%,$(UNIT_SRCS)),\
  $(eval build/tests/$(t): $(call unit_prereqs,build/obj,build/unit,$(t)))\
  $(eval build/asan/tests/$(t): $(call unit_prereqs,build/asan/obj,build/asan/unit,$(t))))

build/tests/%: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(filter %.o %.a,$^) -Wl,--as-needed $(LIBS) -lcmocka

build/asan/tests/%: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $< $(filter %.o %.a,$^) -Wl,--as-needed $(LIBS) \
		-lcmocka

unit: $(UNIT_BINS) $(SAN_UNIT_BINS)

# The Debian packages, then Det Fælles Designsystem (npm dkfds, pinned in
# ui/package-lock.json) copied into web/dkfds/ (scripts/ui-assets.sh).
deps:
	@sh scripts/setup-deps.sh
	@sh scripts/ui-assets.sh

ui-assets:
	@sh scripts/ui-assets.sh

# The tests in two tiers (scripts/check.sh, README "The two commands"); the
# last line is the total.
check: deps
	$(MAKE) all asan testbuild unit
	@bash scripts/check.sh check

check-world: deps
	$(MAKE) all asan testbuild unit
	@bash scripts/check.sh world

demo: deps
	$(MAKE) all
	@$(PYTHON) scripts/demo.py start

demo-stop:
	@$(PYTHON) scripts/demo.py stop

# Benchmarks against DESIGN.md's targets (bench/README.md). bench/run.sh
# installs what is missing (wrk too) before it builds, as a fresh machine needs.
bench:
	@bash bench/run.sh

install: all ui-assets
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DATADIR)/web $(DESTDIR)$(DATADIR)/schema/sql \
		$(DESTDIR)$(DATADIR)/schema/ldap $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(SYSCONFDIR)
	install -m 755 build/stafetd $(DESTDIR)$(SBINDIR)/stafetd
	cp -R web/. $(DESTDIR)$(DATADIR)/web/
	install -m 644 $(MIGRATIONS) $(DESTDIR)$(DATADIR)/schema/sql/
	install -m 644 schema/ldap/* $(DESTDIR)$(DATADIR)/schema/ldap/
	install -d $(DESTDIR)$(DATADIR)/schema/routes $(DESTDIR)$(DATADIR)/schema/templates
	install -m 644 schema/routes/*.json $(DESTDIR)$(DATADIR)/schema/routes/
	install -m 644 schema/templates/*.json $(DESTDIR)$(DATADIR)/schema/templates/
	install -d $(DESTDIR)$(DATADIR)/schema/names && install -m 644 $(NAMES) $(DESTDIR)$(DATADIR)/schema/names/
	install -m 644 docs/stafetd.8 $(DESTDIR)$(MANDIR)/man8/stafetd.8
	install -m 644 docs/stafetd.conf.5 $(DESTDIR)$(MANDIR)/man5/stafetd.conf.5
	sed 's|@SBINDIR@|$(SBINDIR)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/stafetd.service.in \
		> $(DESTDIR)$(UNITDIR)/stafetd.service
	install -m 644 systemd/stafetd.sysusers $(DESTDIR)$(SYSUSERSDIR)/stafetd.conf
	install -m 644 systemd/stafetd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/stafetd.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/stafetd.conf || \
		install -m 640 docs/stafetd.conf.example $(DESTDIR)$(SYSCONFDIR)/stafetd.conf

# ---- Fuzzing: libFuzzer harnesses in tests/fuzz/ (tests/fuzz/README.md) ----
# Built with clang into build/fuzz/, apart from the gcc objects.
#   make fuzz-replay             replay the seeds and tests/fuzz/regressions (make check)
#   make fuzz-check              the same, then every harness FUZZ_CHECK_TIME s
#                                (make check-world)
#   make fuzz FUZZ_TIME=3600     every harness that long; -j2 runs two at once;
#                                the corpus grows in build/fuzz/corpus/NAME
FUZZ_CC         ?= clang
FUZZ_TIME       ?= 600
FUZZ_CHECK_TIME ?= 7
FUZZ_SAN   := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_BINS  := $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_OBJS  := $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRCS))

.PHONY: fuzz fuzz-check fuzz-replay fuzz-build $(addprefix fuzz-run-,$(FUZZ_NAMES))
$(FUZZ_OBJS): build/flags

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/libstafet.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $(FUZZ_OBJS)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h build/fuzz/libstafet.a
	$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -Idaemon -o $@ $< \
		build/fuzz/libstafet.a $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz-check: fuzz-build
	@bash tests/fuzz/run.sh check $(FUZZ_CHECK_TIME) $(FUZZ_NAMES)

fuzz-replay: fuzz-build
	@bash tests/fuzz/run.sh replay 0 $(FUZZ_NAMES)

fuzz: $(addprefix fuzz-run-,$(FUZZ_NAMES))
$(addprefix fuzz-run-,$(FUZZ_NAMES)): fuzz-run-%: build/fuzz/fuzz_%
	@bash tests/fuzz/run.sh long $(FUZZ_TIME) $*

-include $(FUZZ_OBJS:.o=.d) $(FUZZ_BINS:=.d)
# ---- end of fuzzing ----

format:
	clang-format -i $(SRCS) $(HDRS) $(UNIT_SRCS) $(FUZZ_SRCS) tests/fuzz/*.h

format-check:
	clang-format --dry-run --Werror $(SRCS) $(HDRS) $(UNIT_SRCS) $(FUZZ_SRCS) tests/fuzz/*.h

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(SAN_OBJS:.o=.d) $(TEST_OBJS:.o=.d)
