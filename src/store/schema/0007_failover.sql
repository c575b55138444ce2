-- 0007_failover: what routing across several channels records.
-- payment_attempts.failover: 1 when the attempt was started by payd
-- failing over from the attempt before it (a channel that did not
-- execute), 0 when a confirmation started it.  The attempts of one
-- confirmation are the last one with failover = 0 and those after it.
-- payment_intents.last_error_suggest: the payment method types (bit
-- 1 << pm_type) payd suggests after a decline the payer's method cannot
-- overcome: the other types the installation's channels accept.
ALTER TABLE payment_attempts ADD COLUMN failover INTEGER NOT NULL DEFAULT 0
  CHECK (failover IN (0, 1));
ALTER TABLE payment_intents ADD COLUMN last_error_suggest INTEGER NOT NULL DEFAULT 0
  CHECK (last_error_suggest >= 0);
