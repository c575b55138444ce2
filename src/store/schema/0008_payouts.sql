-- 0008_payouts: recipients (saved bank accounts), payouts, their
-- timelines, alerts and the callback ids already seen (see core/payout.h,
-- core/bank_account.h, store/store.h and store/store_sqlite_payouts.c).
--
-- Conventions as in 0003: columns mirror the C structs one to one, enums
-- are their C values (asserted in store_sqlite_payouts.c), booleans 0/1,
-- fixed-size text NOT NULL ('' when empty), heap strings NULL exactly
-- when the pointer is.  The bank account (struct bank_account) is
-- flattened into account_* columns.  There is no column for an account
-- number in clear: account_sealed is the number sealed with AES-256-GCM
-- (nonce 12 | ciphertext 4..34 | tag 16 bytes: 32..62), bound to the
-- row's id; account_last4 and the keyed account_fingerprint are what may
-- be shown.

CREATE TABLE recipients (
  id                  TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 31),
  merchant_id         TEXT    NOT NULL REFERENCES merchants (id),
  name                TEXT    NOT NULL CHECK (length(name) <= 140),
  currency            TEXT    NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
  account_holder_name TEXT    NOT NULL CHECK (length(account_holder_name) <= 140),
  account_bank_code   TEXT    NOT NULL CHECK (length(account_bank_code) <= 35),
  account_country     TEXT    NOT NULL CHECK (account_country GLOB '[A-Z][A-Z]'),
  account_last4       TEXT    NOT NULL CHECK (length(account_last4) = 4),
  account_fingerprint TEXT    NOT NULL CHECK (length(account_fingerprint) BETWEEN 1 AND 23),
  account_sealed      BLOB    NOT NULL CHECK (length(account_sealed) BETWEEN 32 AND 96),
  metadata            TEXT    NULL,
  created_ms          INTEGER NOT NULL
) STRICT;

CREATE INDEX recipients_merchant ON recipients (merchant_id, id);

-- status: enum payout_status 0 pending, 1 in_transit, 2 paid, 3 failed,
-- 4 canceled; method: 0 standard, 1 instant.  recipient_id is '' for a
-- destination given inline (so it is no foreign key).  next_poll_ms: when
-- the engine must look at the payout next (query the rail, check its
-- deadline), 0 for never.
CREATE TABLE payouts (
  id                  TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 31),
  merchant_id         TEXT    NOT NULL REFERENCES merchants (id),
  amount              INTEGER NOT NULL CHECK (amount > 0),
  currency            TEXT    NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
  status              INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),
  method              INTEGER NOT NULL CHECK (method IN (0, 1)),
  recipient_id        TEXT    NOT NULL,
  account_holder_name TEXT    NOT NULL CHECK (length(account_holder_name) <= 140),
  account_bank_code   TEXT    NOT NULL CHECK (length(account_bank_code) <= 35),
  account_country     TEXT    NOT NULL CHECK (account_country GLOB '[A-Z][A-Z]'),
  account_last4       TEXT    NOT NULL CHECK (length(account_last4) = 4),
  account_fingerprint TEXT    NOT NULL CHECK (length(account_fingerprint) BETWEEN 1 AND 23),
  account_sealed      BLOB    NOT NULL CHECK (length(account_sealed) BETWEEN 32 AND 96),
  description         TEXT    NULL,
  metadata            TEXT    NULL,
  rail                TEXT    NOT NULL,
  rail_reference      TEXT    NOT NULL,
  rail_attempts       INTEGER NOT NULL CHECK (rail_attempts >= 0),
  outcome_unknown     INTEGER NOT NULL CHECK (outcome_unknown IN (0, 1)),
  trace_id            TEXT    NOT NULL,
  expected_arrival_ms INTEGER NOT NULL,
  arrived_ms          INTEGER NOT NULL,
  failure_code        INTEGER NOT NULL,
  failure_reason      TEXT    NOT NULL CHECK (length(failure_reason) <= 7),
  hold_transfer_id    TEXT    NOT NULL,
  next_poll_ms        INTEGER NOT NULL CHECK (next_poll_ms >= 0),
  polls               INTEGER NOT NULL CHECK (polls >= 0),
  overdue_level       INTEGER NOT NULL CHECK (overdue_level >= 0),
  created_ms          INTEGER NOT NULL,
  updated_ms          INTEGER NOT NULL
) STRICT;

-- Lists: a merchant's payouts newest first, and those of one status.
CREATE INDEX payouts_merchant ON payouts (merchant_id, id);
CREATE INDEX payouts_merchant_status ON payouts (merchant_id, status, id);
-- The engine's work lists: payouts not final (pending, in_transit) for
-- recovery at start-up, and those of them with a time set, by that time.
CREATE INDEX payouts_open ON payouts (id) WHERE status IN (0, 1);
CREATE INDEX payouts_due ON payouts (next_poll_ms, id)
  WHERE status IN (0, 1) AND next_poll_ms > 0;
-- A rail's callback names the payout by the reference payd gave the rail.
CREATE INDEX payouts_rail_reference ON payouts (rail_reference)
  WHERE rail_reference <> '';

-- A payout's timeline: one row per status change, seq 1, 2, ... in order.
CREATE TABLE payout_events (
  payout_id TEXT    NOT NULL REFERENCES payouts (id),
  seq       INTEGER NOT NULL CHECK (seq >= 1),
  at_ms     INTEGER NOT NULL,
  status    INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),
  source    TEXT    NOT NULL CHECK (length(source) <= 15),
  code      TEXT    NOT NULL CHECK (length(code) <= 7),
  message   TEXT    NOT NULL CHECK (length(message) <= 159),
  PRIMARY KEY (payout_id, seq)
) STRICT, WITHOUT ROWID;

-- status: enum alert_status 0 open, 1 resolved.  At most one alert of a
-- kind is open for an object (the unique partial index): an escalation
-- updates it (level, message) rather than adding another.
CREATE TABLE alerts (
  id          TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 31),
  merchant_id TEXT    NOT NULL REFERENCES merchants (id),
  kind        TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 31),
  object_id   TEXT    NOT NULL CHECK (length(object_id) BETWEEN 1 AND 31),
  level       INTEGER NOT NULL CHECK (level >= 1),
  status      INTEGER NOT NULL CHECK (status IN (0, 1)),
  message     TEXT    NOT NULL CHECK (length(message) <= 159),
  created_ms  INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL,
  resolved_ms INTEGER NOT NULL,
  CHECK (status = 1 OR resolved_ms = 0)
) STRICT;

CREATE UNIQUE INDEX alerts_open ON alerts (object_id, kind) WHERE status = 0;
CREATE INDEX alerts_merchant ON alerts (merchant_id, id);
CREATE INDEX alerts_merchant_status ON alerts (merchant_id, status, id);

-- The ids of the channels' callbacks already applied: a replayed or
-- duplicated delivery is recognised and ignored.  Expired by seen_ms.
CREATE TABLE callback_ids (
  channel TEXT    NOT NULL CHECK (length(channel) BETWEEN 1 AND 31),
  id      TEXT    NOT NULL CHECK (length(id) BETWEEN 1 AND 128),
  seen_ms INTEGER NOT NULL,
  PRIMARY KEY (channel, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX callback_ids_seen ON callback_ids (seen_ms);
