"""The database schema, as the migrations that build it (PRAGMA user_version counts them)."""

from __future__ import annotations

from collections.abc import Sequence

# One entry per schema version; a database at version N runs entries N.. in order.
MIGRATIONS: Sequence[str] = (
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        network TEXT NOT NULL,
        nick TEXT NOT NULL,
        nick_key TEXT NOT NULL,
        phone TEXT NOT NULL,
        created_at REAL NOT NULL,
        UNIQUE (network, nick_key)
    );
    CREATE INDEX users_phone ON users (phone);
    CREATE TABLE last_highlight (
        user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        channel TEXT NOT NULL,
        sender TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE TABLE sent_sms (
        sid TEXT PRIMARY KEY,
        user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
        to_phone TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX sent_sms_user ON sent_sms (user_id, created_at);
    CREATE TABLE received_sms (
        sid TEXT PRIMARY KEY,
        from_phone TEXT NOT NULL,
        body TEXT NOT NULL,
        received_at REAL NOT NULL,
        forwarded_at REAL
    );
    CREATE INDEX received_sms_outbox ON received_sms (forwarded_at) WHERE forwarded_at IS NULL;
    """,
    # 2: the notification policy: per-user settings, segments spent, held highlights.
    """
    ALTER TABLE users ADD COLUMN timezone TEXT;
    ALTER TABLE users ADD COLUMN quiet TEXT;
    ALTER TABLE users ADD COLUMN paused_until REAL;
    ALTER TABLE users ADD COLUMN opted_out INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE muted (
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        channel_key TEXT NOT NULL,
        PRIMARY KEY (user_id, channel_key)
    );
    ALTER TABLE sent_sms ADD COLUMN segments INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX sent_sms_created ON sent_sms (created_at);
    CREATE TABLE held (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        channel TEXT NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        at REAL NOT NULL,
        until REAL NOT NULL
    );
    CREATE INDEX held_user ON held (user_id, at);
    CREATE TABLE limit_notices (
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        day TEXT NOT NULL,
        PRIMARY KEY (user_id, day)
    );
    """,
    # 3: self-service: services accounts, keywords, pending registrations, codes sent.
    """
    ALTER TABLE users ADD COLUMN account TEXT;
    CREATE TABLE keywords (
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        word_key TEXT NOT NULL,
        word TEXT NOT NULL,
        exception INTEGER NOT NULL,
        PRIMARY KEY (user_id, word_key, exception)
    );
    CREATE TABLE pending (
        network TEXT NOT NULL,
        nick_key TEXT NOT NULL,
        nick TEXT NOT NULL,
        phone TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        account TEXT,
        expires REAL NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (network, nick_key)
    );
    CREATE TABLE codes_sent (
        network TEXT NOT NULL,
        nick_key TEXT NOT NULL,
        phone TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX codes_sent_phone ON codes_sent (phone, at);
    CREATE INDEX codes_sent_nick ON codes_sent (network, nick_key, at);
    """,
    # 4: answers confirmed end to end. The accepting side keeps each answer until the
    # IRC side confirms it (confirmed_at), re-publishing it when the bus may have lost
    # it (published_at, and the Redis it went to); the IRC side remembers what it did
    # with each MessageSid (said_sms) and its consumer name in the stream's group.
    """
    ALTER TABLE received_sms RENAME COLUMN forwarded_at TO confirmed_at;
    ALTER TABLE received_sms ADD COLUMN published_at REAL;
    ALTER TABLE received_sms ADD COLUMN published_epoch TEXT;
    CREATE TABLE said_sms (
        sid TEXT PRIMARY KEY,
        outcome TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX said_sms_at ON said_sms (at);
    CREATE TABLE local_ids (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 5: codes are a budget of their own: who asked (account, host) and which SMS each was.
    """
    ALTER TABLE codes_sent ADD COLUMN account TEXT;
    ALTER TABLE codes_sent ADD COLUMN host TEXT;
    ALTER TABLE codes_sent ADD COLUMN sid TEXT;
    CREATE INDEX codes_sent_at ON codes_sent (at);
    CREATE INDEX codes_sent_sid ON codes_sent (sid) WHERE sid IS NOT NULL;
    """,
    # 6: the durable SMS outbox, what Twilio said after sending, and why a phone is paused.
    """
    CREATE TABLE outgoing (
        id INTEGER PRIMARY KEY,
        user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
        to_phone TEXT NOT NULL,
        body TEXT NOT NULL,
        kind TEXT NOT NULL,
        segments INTEGER NOT NULL,
        decided_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL DEFAULT 0,
        first_try_at REAL,
        error TEXT
    );
    CREATE INDEX outgoing_waiting ON outgoing (to_phone, id) WHERE state != 'failed';
    CREATE INDEX outgoing_user ON outgoing (user_id) WHERE state != 'failed';
    ALTER TABLE sent_sms ADD COLUMN error_code INTEGER;
    CREATE TABLE undelivered (
        phone TEXT PRIMARY KEY,
        streak INTEGER NOT NULL,
        last_code INTEGER NOT NULL,
        last_at REAL NOT NULL
    );
    ALTER TABLE users ADD COLUMN paused_reason TEXT;
    CREATE TABLE early_status (
        sid TEXT PRIMARY KEY,
        to_phone TEXT NOT NULL,
        status TEXT NOT NULL,
        error_code INTEGER,
        at REAL NOT NULL
    );
    """,
    # 7: which users changed (their row, keywords or mutes), in order, whoever changed
    # them: a running daemon reads what changed since it last looked and reloads only
    # those users. The daemon deletes what it applied.
    """
    CREATE TABLE registry_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL
    );
    CREATE TRIGGER users_insert_logged AFTER INSERT ON users
    BEGIN INSERT INTO registry_changes (user_id) VALUES (NEW.id); END;
    CREATE TRIGGER users_update_logged AFTER UPDATE ON users
    BEGIN INSERT INTO registry_changes (user_id) VALUES (NEW.id); END;
    CREATE TRIGGER users_delete_logged AFTER DELETE ON users
    BEGIN INSERT INTO registry_changes (user_id) VALUES (OLD.id); END;
    CREATE TRIGGER keywords_insert_logged AFTER INSERT ON keywords
    BEGIN INSERT INTO registry_changes (user_id) VALUES (NEW.user_id); END;
    CREATE TRIGGER keywords_update_logged AFTER UPDATE ON keywords
    BEGIN INSERT INTO registry_changes (user_id) VALUES (NEW.user_id); END;
    CREATE TRIGGER keywords_delete_logged AFTER DELETE ON keywords
    BEGIN INSERT INTO registry_changes (user_id) VALUES (OLD.user_id); END;
    CREATE TRIGGER muted_insert_logged AFTER INSERT ON muted
    BEGIN INSERT INTO registry_changes (user_id) VALUES (NEW.user_id); END;
    CREATE TRIGGER muted_update_logged AFTER UPDATE ON muted
    BEGIN INSERT INTO registry_changes (user_id) VALUES (NEW.user_id); END;
    CREATE TRIGGER muted_delete_logged AFTER DELETE ON muted
    BEGIN INSERT INTO registry_changes (user_id) VALUES (OLD.user_id); END;
    """,
    # 8: the outbox read in its order from the index: sorting every unconfirmed answer
    # for each page made a sweep through a backlog (Redis down, no IRC side) quadratic.
    """
    DROP INDEX received_sms_outbox;
    CREATE INDEX received_sms_outbox ON received_sms (received_at, sid)
        WHERE confirmed_at IS NULL;
    """,
)
