-- 0001_ledger: the double-entry ledger (see core/ledger.h and
-- store/store_sqlite.c).  Amounts are signed int64 minor units; an account's
-- balances are a cache of its entries that the audit recomputes.

CREATE TABLE accounts (
  id              INTEGER PRIMARY KEY,
  code            TEXT    NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 160),
  currency        TEXT    NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
  flags           INTEGER NOT NULL DEFAULT 0 CHECK (flags >= 0),
  posted          INTEGER NOT NULL DEFAULT 0,
  pending_debits  INTEGER NOT NULL DEFAULT 0 CHECK (pending_debits >= 0),
  pending_credits INTEGER NOT NULL DEFAULT 0 CHECK (pending_credits >= 0),
  created_ms      INTEGER NOT NULL
) STRICT;

-- state: 0 posted, 1 pending (a hold), 2 settled (a hold later posted),
-- 3 voided (a hold released).  A transfer that settles or voids a hold
-- names it in pending_id; at most one may (the unique index).
CREATE TABLE transfers (
  id          TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 31),
  currency    TEXT    NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
  state       INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),
  pending_id  TEXT    NULL REFERENCES transfers (id),
  amount      INTEGER NOT NULL CHECK (amount >= 0),
  created_ms  INTEGER NOT NULL,
  CHECK (pending_id IS NULL OR (pending_id <> id AND state IN (0, 3)))
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX transfers_pending_id ON transfers (pending_id)
  WHERE pending_id IS NOT NULL;
CREATE INDEX transfers_state ON transfers (state);

-- One row per leg.  kind 0: posted money; kind 1: the reservation of a
-- pending transfer (counts towards pending_* only while it is PENDING).
CREATE TABLE entries (
  id          INTEGER PRIMARY KEY,
  transfer_id TEXT    NOT NULL REFERENCES transfers (id),
  account_id  INTEGER NOT NULL REFERENCES accounts (id),
  kind        INTEGER NOT NULL CHECK (kind IN (0, 1)),
  amount      INTEGER NOT NULL CHECK (amount <> 0)
) STRICT;

CREATE INDEX entries_transfer ON entries (transfer_id);
CREATE INDEX entries_account ON entries (account_id, kind);
