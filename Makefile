# payd — build, test and run.  Plain make, automatic header dependencies.
#   make          build ./payd
#   make test     install missing packages, build, run every test
#   make asan     the tests again under AddressSanitizer + UBSan
#   make run      install, build, run the demo
#   make docs     regenerate docs/ERRORS.md from the error catalog
#   make deps     install the Debian packages the project needs

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
CFLAGS  += -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wvla -Wformat=2 -g $(OPT) -D_GNU_SOURCE -Isrc -I$(BUILD)/gen
LDLIBS  += -lmicrohttpd -lsqlite3 -ljansson -lcrypto -lpthread
TEST_LDLIBS = -lcriterion

LIB_SRC  := $(sort $(filter-out src/cmd/%,$(wildcard src/*/*.c)))
CMD_SRC  := $(sort $(wildcard src/cmd/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/*.c))
SQL      := $(sort $(wildcard src/store/schema/*.sql))

GEN_SRC  := $(BUILD)/gen/schema_sql.c
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/schema_sql.o
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
PAYD     := $(BUILD)/payd
UNIT     := $(BUILD)/unit_tests

.PHONY: all test asan run deps docs check-docs clean unit
all: payd

payd: $(PAYD)
	@ln -sf $(PAYD) payd

$(PAYD): $(LIB_OBJ) $(CMD_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT): $(LIB_OBJ) $(TEST_OBJ) $(filter-out $(BUILD)/src/cmd/main.o,$(CMD_OBJ))
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

test: deps
	$(MAKE) --no-print-directory unit

asan: deps
	CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	LDFLAGS="-fsanitize=address,undefined" \
	$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 unit

run: deps
	$(MAKE) --no-print-directory payd
	./payd codes

deps:
	@scripts/install-deps

docs: $(PAYD)
	$(PAYD) codes --markdown > docs/ERRORS.md

clean:
	rm -rf build build-asan payd

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
