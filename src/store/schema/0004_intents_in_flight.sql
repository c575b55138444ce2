-- Intents whose capture or cancellation call was out when payd stopped:
-- found at start-up and asked again (capture and void are idempotent by
-- the attempt's reference at the channel).
CREATE INDEX payment_intents_in_flight ON payment_intents (id)
  WHERE capture_requested > 0 OR cancel_requested = 1;
