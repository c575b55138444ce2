-- Events are written twice per payment and always read with their
-- merchant: the primary key on id alone (a B-tree of its own, updated on
-- every insert) goes; (merchant_id, id), unique, serves get and list.
CREATE TABLE events_lean (
  id          TEXT    NOT NULL CHECK (length(id) BETWEEN 1 AND 31),
  merchant_id TEXT    NOT NULL REFERENCES merchants (id),
  type        TEXT    NOT NULL CHECK (length(type) BETWEEN 1 AND 63),
  object_id   TEXT    NOT NULL,
  data        TEXT    NULL,
  created_ms  INTEGER NOT NULL
) STRICT;
INSERT INTO events_lean (id, merchant_id, type, object_id, data, created_ms)
  SELECT id, merchant_id, type, object_id, data, created_ms FROM events ORDER BY id;
DROP TABLE events;
ALTER TABLE events_lean RENAME TO events;
CREATE UNIQUE INDEX events_merchant ON events (merchant_id, id);
CREATE INDEX events_merchant_type ON events (merchant_id, type, id);
