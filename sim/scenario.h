/* sim/scenario: the scenario file (docs/SIM_PROTOCOL.md, "Scenario" and
 * "Scenario fields of a bank channel"): the channel settings as C structs,
 * parsing with a message naming the first bad field, the partial update the
 * admin endpoint applies (with the bank's release_stuck action), and the
 * JSON form GET /admin/scenario answers.  Pure: no I/O, no locks. */
#ifndef PAYD_SIM_SCENARIO_H
#define PAYD_SIM_SCENARIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codes.h"

#define SIM_CHANNELS_MAX 16
#define SIM_NAME_MAX 31        /* channel names: 1-31 of [a-z0-9_] */
#define SIM_SECRET_MAX 255
#define SIM_OUTCOMES_MAX 32    /* codes in one mix */
#define SIM_CODE_MAX 47        /* longest raw code */
#define SIM_WEIGHT_MAX 1000000
#define SIM_LATENCY_MAX_MS 60000
#define SIM_SLOW_MAX_MS 600000
#define SIM_ERR_MAX 256
#define SIM_SLOW_DEFAULT_MS 15000
#define SIM_DURATION_MAX_MS 604800000 /* bank durations: 7 days of scenario time */
#define SIM_TIME_SCALE_MIN 0.001
#define SIM_TIME_SCALE_MAX 1000000.0
#define SIM_URL_MAX 255               /* callback_url */

enum sim_outage { SIM_OUTAGE_NONE, SIM_OUTAGE_REFUSE, SIM_OUTAGE_503 };

struct sim_latency {
	int min_ms, p50_ms, p99_ms;
};

struct sim_outcome {
	char code[SIM_CODE_MAX + 1];
	uint32_t weight;
};

struct sim_channel_cfg {
	char name[SIM_NAME_MAX + 1];
	enum sim_kind kind;
	int port; /* as configured; 0: a free one */
	char secret[SIM_SECRET_MAX + 1];
	bool idempotent;
	struct sim_latency latency;
	struct sim_outcome outcomes[SIM_OUTCOMES_MAX];
	size_t n_outcomes;
	enum sim_outage outage;
	double slow_rate;
	int slow_ms;
	bool slow_before_execution;
	double lost_rate;
	/* kind bank only (docs/SIM_PROTOCOL.md, "Bank payout rails") */
	double time_scale; /* scenario ms per real ms */
	struct sim_latency transit, settle, instant_settle, return_after; /* scenario ms */
	struct sim_outcome payout_outcomes[SIM_OUTCOMES_MAX]; /* fates: "paid", "failed:AC04" */
	size_t n_payout_outcomes;
	char callback_url[SIM_URL_MAX + 1]; /* "": no callbacks */
	double callback_drop_rate, callback_duplicate_rate, callback_late_rate;
};

struct sim_scenario {
	uint64_t seed;
	struct sim_channel_cfg channels[SIM_CHANNELS_MAX];
	size_t n_channels;
};

/* Parses a whole scenario.  On error returns false with err set to
 * "<field path>: <what is wrong>". */
bool sim_scenario_parse(const json_t *root, struct sim_scenario *out, char err[SIM_ERR_MAX]);
bool sim_scenario_load(const char *path, struct sim_scenario *out, char err[SIM_ERR_MAX]);
/* Applies the changeable fields present in obj (latency_ms, outcomes,
 * outage, slow_rate, slow_ms, slow_before_execution, lost_rate; for a bank
 * its own fields instead of outcomes) to a copy of cfg; on success *cfg is
 * replaced, else it is left alone and err names the field (prefixed with
 * `where`, e.g. "channels[1]"; "" for none).  `fixed_ok` lets the fields
 * that cannot change (name, kind, port, secret, idempotent) through; they
 * are then ignored here.  `release` (NULL: the field is refused) receives
 * a bank's release_stuck fate; its kind stays SIM_FATE_STUCK when absent. */
bool sim_channel_apply(struct sim_channel_cfg *cfg, const json_t *obj, const char *where,
		       bool fixed_ok, struct sim_fate *release, char err[SIM_ERR_MAX]);
json_t *sim_channel_to_json(const struct sim_channel_cfg *cfg);
const char *sim_outage_name(enum sim_outage outage);

#endif
