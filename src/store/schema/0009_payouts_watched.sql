-- 0009_payouts_watched: a paid payout stays on the work list while a
-- return may still come (its next_poll_ms is set until the return window
-- has passed), so that a return whose callback was lost is found by
-- polling the rail.
DROP INDEX payouts_due;
CREATE INDEX payouts_due ON payouts (next_poll_ms, id)
  WHERE status IN (0, 1, 2) AND next_poll_ms > 0;
