-- 0002_merchants: merchants and their API keys.  Only the SHA-256 of a
-- secret key is stored, with its last four characters for display.

CREATE TABLE merchants (
  id         TEXT    PRIMARY KEY CHECK (substr(id, 1, 5) = 'acct_'),
  name       TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
  created_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
  id          TEXT    PRIMARY KEY CHECK (substr(id, 1, 4) = 'key_'),
  merchant_id TEXT    NOT NULL REFERENCES merchants (id),
  hash        BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
  last4       TEXT    NOT NULL CHECK (length(last4) = 4),
  created_ms  INTEGER NOT NULL,
  revoked_ms  INTEGER NULL CHECK (revoked_ms IS NULL OR revoked_ms >= created_ms)
) STRICT;

CREATE INDEX api_keys_merchant ON api_keys (merchant_id);
