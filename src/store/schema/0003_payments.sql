-- 0003_payments: installation secrets, payment intents, their attempts
-- (charges), refunds, the event log and saved idempotent answers (see
-- core/payment.h, store/store.h and store/store_sqlite_payments.c).
--
-- Conventions.  Columns mirror the C structs one to one.  Enums are their
-- C values (the CHECK ranges are asserted against the enums in
-- store_sqlite_payments.c); booleans are 0/1.  A fixed-size text field of
-- a struct is NOT NULL ('' when empty); a heap string (description,
-- metadata, event data, saved response) is NULL exactly when its pointer
-- is.  Metadata and event data are JSON text.  The payment method is
-- flattened into pm_* columns; it never holds a card number, only brand,
-- last four digits, expiry, the keyed fingerprint and the channel's token.
--
-- Ids sort by creation time, so "newest first" is "ORDER BY id DESC" and
-- every list index ends in id.  Tables whose rows carry unbounded text
-- keep a rowid; payment_attempts and secrets, whose rows are bounded and
-- small, are clustered on their id (WITHOUT ROWID) to save an index.

-- Named 32-byte secrets of this installation (e.g. the key of card
-- fingerprints), made from the CSPRNG on first use.
CREATE TABLE secrets (
  name  TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
  value BLOB NOT NULL CHECK (length(value) = 32)
) STRICT, WITHOUT ROWID;

-- status: enum pi_status 0..6; capture_method: 0 automatic, 1 manual;
-- pm_type: enum pm_type 0..3 (0 = none attached).
CREATE TABLE payment_intents (
  id                    TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 31),
  merchant_id           TEXT    NOT NULL REFERENCES merchants (id),
  amount                INTEGER NOT NULL CHECK (amount >= 0),
  currency              TEXT    NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
  status                INTEGER NOT NULL CHECK (status BETWEEN 0 AND 6),
  capture_method        INTEGER NOT NULL CHECK (capture_method IN (0, 1)),
  amount_capturable     INTEGER NOT NULL CHECK (amount_capturable BETWEEN 0 AND amount),
  amount_received       INTEGER NOT NULL CHECK (amount_received BETWEEN 0 AND amount),
  -- promise 3: never more refunded (succeeded + pending) than received
  amount_refunded       INTEGER NOT NULL CHECK (amount_refunded BETWEEN 0 AND amount_received),
  description           TEXT    NULL,
  customer              TEXT    NOT NULL,
  metadata              TEXT    NULL,
  pm_type               INTEGER NOT NULL CHECK (pm_type BETWEEN 0 AND 3),
  pm_id                 TEXT    NOT NULL,
  pm_brand              TEXT    NOT NULL,
  pm_last4              TEXT    NOT NULL CHECK (length(pm_last4) IN (0, 4)),
  pm_exp_month          INTEGER NOT NULL,
  pm_exp_year           INTEGER NOT NULL,
  pm_fingerprint        TEXT    NOT NULL,
  pm_token              TEXT    NOT NULL,
  latest_attempt_id     TEXT    NOT NULL,
  attempt_count         INTEGER NOT NULL CHECK (attempt_count >= 0),
  last_error_code       INTEGER NOT NULL,
  last_error_attempt_id TEXT    NOT NULL,
  hold_transfer_id      TEXT    NOT NULL,
  capture_requested     INTEGER NOT NULL CHECK (capture_requested >= 0),
  cancel_requested      INTEGER NOT NULL CHECK (cancel_requested IN (0, 1)),
  cancellation_reason   TEXT    NOT NULL,
  canceled_ms           INTEGER NOT NULL,
  created_ms            INTEGER NOT NULL,
  updated_ms            INTEGER NOT NULL
) STRICT;

CREATE INDEX payment_intents_merchant ON payment_intents (merchant_id, id);

-- status: enum attempt_status 0..7 (0 pending, 2 verifying, 6 unknown are
-- "in flight": the partial index is the resolver's work list).
CREATE TABLE payment_attempts (
  id             TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 31),
  intent_id      TEXT    NOT NULL REFERENCES payment_intents (id),
  merchant_id    TEXT    NOT NULL REFERENCES merchants (id),
  seq            INTEGER NOT NULL CHECK (seq >= 1),
  channel        TEXT    NOT NULL,
  status         INTEGER NOT NULL CHECK (status BETWEEN 0 AND 7),
  amount         INTEGER NOT NULL CHECK (amount >= 0),
  currency       TEXT    NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
  pm_type        INTEGER NOT NULL CHECK (pm_type BETWEEN 0 AND 3),
  pm_id          TEXT    NOT NULL,
  pm_brand       TEXT    NOT NULL,
  pm_last4       TEXT    NOT NULL CHECK (length(pm_last4) IN (0, 4)),
  pm_exp_month   INTEGER NOT NULL,
  pm_exp_year    INTEGER NOT NULL,
  pm_fingerprint TEXT    NOT NULL,
  pm_token       TEXT    NOT NULL,
  capture        INTEGER NOT NULL CHECK (capture IN (0, 1)),
  code           INTEGER NOT NULL,
  raw_code       TEXT    NOT NULL,
  raw_message    TEXT    NOT NULL,
  created_ms     INTEGER NOT NULL,
  finished_ms    INTEGER NOT NULL,
  latency_ms     INTEGER NOT NULL,
  next_check_ms  INTEGER NOT NULL,
  checks         INTEGER NOT NULL CHECK (checks >= 0)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX payment_attempts_intent ON payment_attempts (intent_id, seq);
CREATE INDEX payment_attempts_unsettled ON payment_attempts (id) WHERE status IN (0, 2, 6);

-- status: enum refund_status 0..3 (0 pending: the partial index).
CREATE TABLE refunds (
  id               TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 31),
  merchant_id      TEXT    NOT NULL REFERENCES merchants (id),
  intent_id        TEXT    NOT NULL REFERENCES payment_intents (id),
  attempt_id       TEXT    NOT NULL REFERENCES payment_attempts (id),
  channel          TEXT    NOT NULL,
  amount           INTEGER NOT NULL CHECK (amount > 0),
  currency         TEXT    NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
  status           INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
  reason           TEXT    NOT NULL,
  failure_code     INTEGER NOT NULL,
  raw_code         TEXT    NOT NULL,
  metadata         TEXT    NULL,
  hold_transfer_id TEXT    NOT NULL,
  created_ms       INTEGER NOT NULL,
  updated_ms       INTEGER NOT NULL
) STRICT;

CREATE INDEX refunds_merchant ON refunds (merchant_id, id);
CREATE INDEX refunds_intent ON refunds (intent_id, id);
CREATE INDEX refunds_pending ON refunds (id) WHERE status = 0;

-- Appended with every state change, in the same transaction.
CREATE TABLE events (
  id          TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 31),
  merchant_id TEXT    NOT NULL REFERENCES merchants (id),
  type        TEXT    NOT NULL CHECK (length(type) BETWEEN 1 AND 63),
  object_id   TEXT    NOT NULL,
  data        TEXT    NULL,
  created_ms  INTEGER NOT NULL
) STRICT;

CREATE INDEX events_merchant ON events (merchant_id, id);
CREATE INDEX events_merchant_type ON events (merchant_id, type, id);

-- state: 0 in flight, 1 done (response holds the saved answer).
CREATE TABLE idempotency_keys (
  merchant_id TEXT    NOT NULL REFERENCES merchants (id),
  key         TEXT    NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  fingerprint BLOB    NOT NULL CHECK (length(fingerprint) = 32),
  state       INTEGER NOT NULL CHECK (state IN (0, 1)),
  http_status INTEGER NOT NULL CHECK (http_status BETWEEN 0 AND 599),
  response    TEXT    NULL,
  object_id   TEXT    NOT NULL,
  created_ms  INTEGER NOT NULL,
  PRIMARY KEY (merchant_id, key)
) STRICT;

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);
