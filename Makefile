# payd — build, test and run.  Plain make, automatic header dependencies.
#   make          build ./payd
#   make test     install missing packages, build, run every test
#   make asan     the tests again under AddressSanitizer + UBSan
#   make run      install, build, run the demo (payd-sim, traffic, outage,
#                 summary), then serve until Ctrl-C
#   make docs     regenerate docs/ERRORS.md from the error catalog
#   make deps     install the Debian packages the project needs

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
CFLAGS  += -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wvla -Wformat=2 -g $(OPT) -D_GNU_SOURCE -Isrc -I$(BUILD)/gen
LDLIBS  += -lmicrohttpd -lcurl -lsqlite3 -ljansson -lcrypto -lpthread
TEST_LDLIBS = -lcriterion

LIB_SRC  := $(sort $(filter-out src/cmd/%,$(wildcard src/*/*.c)))
CMD_SRC  := $(sort $(wildcard src/cmd/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/*.c))
RAW_SRC  := $(sort $(wildcard tests/e2e_raw/*.c))
SIM_SRC  := $(sort $(wildcard sim/*.c))
SQL      := $(sort $(wildcard src/store/schema/*.sql))

GEN_SRC  := $(BUILD)/gen/schema_sql.c
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/schema_sql.o
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
RAW_OBJ  := $(RAW_SRC:%.c=$(BUILD)/%.o)
SIM_OBJ  := $(SIM_SRC:%.c=$(BUILD)/%.o)
PAYD     := $(BUILD)/payd
UNIT     := $(BUILD)/unit_tests
RAW      := $(BUILD)/e2e_raw
SIM      := $(BUILD)/payd-sim

.PHONY: all test asan run deps docs clean unit e2e crash bench bench-webhooks sim
all: payd $(if $(SIM_SRC),sim)

payd: $(PAYD)
	@ln -sf $(PAYD) payd

# payd-sim: the simulated channels payd's network channels talk to
# (docs/SIM_PROTOCOL.md).  It shares base/ with payd.
sim: $(SIM)

$(SIM): $(SIM_OBJ) $(LIB_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(PAYD): $(LIB_OBJ) $(CMD_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT): $(LIB_OBJ) $(TEST_OBJ) $(filter-out $(BUILD)/src/cmd/main.o,$(CMD_OBJ))
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

# End-to-end tests of the raw protocol: libcurl against a real payd serve
# (and payd's own channel library against payd-sim: test_bank_rail).
$(RAW): $(RAW_OBJ) $(LIB_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

$(BUILD)/%.o: %.c | $(GEN_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/schema_sql.o: $(GEN_SRC)
	$(CC) $(CFLAGS) -c -o $@ $<

$(GEN_SRC): $(SQL) scripts/embed-sql
	@mkdir -p $(dir $@)
	scripts/embed-sql $(SQL) > $@.tmp && mv $@.tmp $@

# The unit binary runs from the repo root (docs/ERRORS.md is compared there)
# and finds the payd binary it drives through PAYD_BIN.
unit: $(UNIT) $(PAYD)
	PAYD_BIN=$(abspath $(PAYD)) $(UNIT) $(CRITERION_ARGS)

# End-to-end: the real server on loopback, driven by libcurl (raw protocol)
# and by the official stripe npm package (node's test runner).
e2e: $(PAYD) $(RAW) $(SIM)
	PAYD_BIN=$(abspath $(PAYD)) SIM_BIN=$(abspath $(SIM)) $(RAW) $(CRITERION_ARGS)
	cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error && \
	  PAYD_BIN=$(abspath $(PAYD)) SIM_BIN=$(abspath $(SIM)) node --test --test-concurrency=1

# Crash safety: payd killed with SIGKILL under load through payd-sim, then
# payd's books checked against payd-sim's (tests/crash/crash.mjs; it uses
# the e2e harness, so it runs after e2e has installed its packages).
crash: $(PAYD) $(SIM)
	PAYD_BIN=$(abspath $(PAYD)) SIM_BIN=$(abspath $(SIM)) node tests/crash/crash.mjs

test: deps
	$(MAKE) --no-print-directory unit e2e crash

asan: deps
	CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	LDFLAGS="-fsanitize=address,undefined" \
	$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 unit e2e crash

run: deps
	$(MAKE) --no-print-directory payd sim
	$(PAYD) demo

deps:
	@scripts/install-deps

# Figures, not tests: payd's durable payments/s and latency under wrk, and
# pgbench's TPC-B tps on a throwaway PostgreSQL for comparison.
bench: deps
	$(MAKE) --no-print-directory payd
	bench/run

# Figures: webhook deliveries to a flaky and a stalled receiver.
bench-webhooks: deps
	$(MAKE) --no-print-directory payd
	cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error
	node bench/webhooks.mjs

docs: $(PAYD)
	$(PAYD) codes --markdown > docs/ERRORS.md

clean:
	rm -rf build build-asan payd

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(SIM_OBJ:.o=.d) $(RAW_OBJ:.o=.d)
