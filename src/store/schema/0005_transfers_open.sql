-- Only open holds are ever looked up by state: index those alone, so a
-- posted transfer (most of them) no longer updates an index on state.
DROP INDEX transfers_state;
CREATE INDEX transfers_open ON transfers (id) WHERE state = 1;
