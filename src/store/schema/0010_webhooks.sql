-- 0010_webhooks: webhook endpoints and the outbox of deliveries.
--
-- Every event inserted is fanned out by the trigger below, in the same
-- transaction, to one pending delivery per enabled endpoint of its
-- merchant that wants its type (webhook_subscriptions holds the enabled
-- endpoints' types, "*" for all).  So an event committed is an event that
-- will be delivered, also after a crash.  Each attempt of a delivery is
-- kept in delivery_attempts.  Payer e-mails are deliveries of kind 1 with
-- no endpoint, inserted by the engine.
CREATE TABLE webhook_endpoints (
  id               TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 31),
  merchant_id      TEXT    NOT NULL REFERENCES merchants (id),
  url              TEXT    NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  description      TEXT    NULL,
  enabled_events   TEXT    NOT NULL,
  metadata         TEXT    NULL,
  status           INTEGER NOT NULL CHECK (status IN (0, 1)),
  secret_sealed    BLOB    NOT NULL,
  old_secret_sealed BLOB   NULL,
  old_expires_ms   INTEGER NOT NULL,
  failures         INTEGER NOT NULL CHECK (failures >= 0),
  failing_since_ms INTEGER NOT NULL,
  last_success_ms  INTEGER NOT NULL,
  disabled_reason  TEXT    NOT NULL,
  deleted          INTEGER NOT NULL CHECK (deleted IN (0, 1)),
  created_ms       INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, id);

CREATE TABLE webhook_subscriptions (
  merchant_id TEXT NOT NULL,
  type        TEXT NOT NULL,
  endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
  PRIMARY KEY (merchant_id, type, endpoint_id)
) STRICT, WITHOUT ROWID;

-- state: 0 pending, 1 delivered, 2 failed (gave up), 3 skipped (an e-mail
-- with no address to send to).  kind: 0 webhook, 1 e-mail.
CREATE TABLE deliveries (
  id          INTEGER PRIMARY KEY,
  kind        INTEGER NOT NULL CHECK (kind IN (0, 1)),
  event_id    TEXT    NOT NULL,
  merchant_id TEXT    NOT NULL,
  endpoint_id TEXT    NOT NULL,
  state       INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2, 3)),
  attempts    INTEGER NOT NULL DEFAULT 0,
  created_ms  INTEGER NOT NULL,
  next_ms     INTEGER NOT NULL,
  done_ms     INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX deliveries_due ON deliveries (next_ms, id) WHERE state = 0;
CREATE INDEX deliveries_event ON deliveries (event_id, id);
-- finished deliveries by age, for the retention sweep
CREATE INDEX deliveries_done ON deliveries (done_ms, id) WHERE state <> 0;

CREATE TABLE delivery_attempts (
  delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
  n           INTEGER NOT NULL CHECK (n >= 1),
  started_ms  INTEGER NOT NULL,
  status      INTEGER NOT NULL,
  latency_ms  INTEGER NOT NULL,
  error       TEXT    NOT NULL,
  PRIMARY KEY (delivery_id, n)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER events_fan_out AFTER INSERT ON events
BEGIN
  INSERT INTO deliveries (kind, event_id, merchant_id, endpoint_id, created_ms, next_ms)
  SELECT 0, NEW.id, NEW.merchant_id, s.endpoint_id, NEW.created_ms, NEW.created_ms
  FROM webhook_subscriptions s
  WHERE s.merchant_id = NEW.merchant_id AND s.type IN ('*', NEW.type);
END;

-- Who a payer e-mail goes to: a payment's receipt_email in its payer's
-- language, a recipient's e-mail for its payouts.
ALTER TABLE payment_intents ADD COLUMN receipt_email TEXT NULL;
ALTER TABLE payment_intents ADD COLUMN payer_language TEXT NULL;
ALTER TABLE recipients ADD COLUMN email TEXT NULL;
ALTER TABLE recipients ADD COLUMN preferred_language TEXT NULL;
