-- The reference Ops-Center's ledger. Every balance is the sum of its transactions:
-- grants and purchases are positive rows, charges and refunds negative ones.
CREATE TABLE IF NOT EXISTS user_credits (
    user_id         TEXT PRIMARY KEY,
    email           TEXT NOT NULL,
    tier            TEXT NOT NULL,
    credits         BIGINT NOT NULL DEFAULT 0 CHECK (credits >= 0),
    api_calls_limit INTEGER NOT NULL,
    version         BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS user_credits_email ON user_credits (lower(email));

CREATE TABLE IF NOT EXISTS organizations (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    subscription_tier TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS organization_members (
    org_id    TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    email     TEXT NOT NULL,
    role      TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    joined_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX IF NOT EXISTS organization_members_user ON organization_members (user_id);

-- holder 'pool' is the organization's purchased credits; any other holder is a member's user id.
CREATE TABLE IF NOT EXISTS organization_credits (
    org_id    TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    holder    TEXT NOT NULL,
    allocated BIGINT NOT NULL DEFAULT 0 CHECK (allocated >= 0),
    used      BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0),
    remaining BIGINT NOT NULL DEFAULT 0 CHECK (remaining >= 0),
    PRIMARY KEY (org_id, holder)
);

CREATE TABLE IF NOT EXISTS credit_transactions (
    id          BIGSERIAL PRIMARY KEY,
    request_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    org_id      TEXT,
    kind        TEXT NOT NULL CHECK (kind IN ('grant', 'purchase', 'charge', 'refund')),
    amount      BIGINT NOT NULL,
    model       TEXT,
    tokens      INTEGER,
    granted_by  TEXT,  -- a grant's platform admin: credits come in only paid for, or granted by someone named
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A request id names one caller's request: two callers may choose the same id, one caller charges it once.
    UNIQUE (user_id, request_id)
);
CREATE INDEX IF NOT EXISTS credit_transactions_user ON credit_transactions (user_id);
CREATE INDEX IF NOT EXISTS credit_transactions_org ON credit_transactions (org_id);

CREATE TABLE IF NOT EXISTS usage_tracking (
    user_id    TEXT NOT NULL,
    period     TEXT NOT NULL,
    api_calls  INTEGER NOT NULL DEFAULT 0,
    byok_calls INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, period)
);

CREATE TABLE IF NOT EXISTS user_byok_keys (
    user_id        TEXT NOT NULL,
    provider       TEXT NOT NULL,
    key_ciphertext BYTEA NOT NULL,
    key_hint       TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, provider)
);

-- Money in: each holder's customer at the payment provider and its card on file, each purchase's payment, and each
-- provider event received (an event is acted on once, however often it is delivered).
CREATE TABLE IF NOT EXISTS payment_accounts (
    holder_kind    TEXT NOT NULL CHECK (holder_kind IN ('user', 'organization')),
    holder_id      TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    payment_method TEXT,
    PRIMARY KEY (holder_kind, holder_id)
);

CREATE TABLE IF NOT EXISTS payments (
    id               TEXT PRIMARY KEY,
    payment_intent   TEXT UNIQUE,
    holder_kind      TEXT NOT NULL CHECK (holder_kind IN ('user', 'organization')),
    holder_id        TEXT NOT NULL,
    buyer_id         TEXT NOT NULL,
    credits          BIGINT NOT NULL CHECK (credits > 0),
    amount           BIGINT NOT NULL CHECK (amount > 0),  -- in the currency's smallest unit (cents)
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('started', 'requires_action', 'failed', 'paid', 'refunded')),
    refunded_credits BIGINT NOT NULL DEFAULT 0 CHECK (refunded_credits >= 0 AND refunded_credits <= credits),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    credited_at      TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS payment_events (
    event_id    TEXT PRIMARY KEY,
    type        TEXT,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
