"""Schema migrations for the SQLite store, applied in order and recorded by name in ``migrations``."""

from __future__ import annotations

SQLITE: tuple[tuple[str, str], ...] = (
    (
        "0001_alerts_events",
        """
        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            state TEXT NOT NULL,
            status TEXT NOT NULL,
            kind TEXT NOT NULL,
            source TEXT NOT NULL,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            ended_at TEXT,
            body TEXT NOT NULL
        );
        CREATE INDEX alerts_state ON alerts(state, status);
        CREATE INDEX alerts_updated ON alerts(updated_at);
        CREATE TABLE alert_regions (
            alert_id TEXT NOT NULL REFERENCES alerts(id),
            region_id TEXT NOT NULL,
            partial INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (alert_id, region_id)
        );
        CREATE INDEX alert_regions_region ON alert_regions(region_id);
        CREATE TABLE alert_versions (
            alert_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            event_seq INTEGER NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (alert_id, version)
        );
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            type TEXT NOT NULL,
            alert_id TEXT NOT NULL,
            at TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE TABLE idempotency (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            event_seq INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (scope, key)
        );
        CREATE TABLE tokens (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            owner TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    ),
    (
        "0400_compat_webhooks",
        """
        CREATE TABLE compat_webhooks (
            token_id INTEGER PRIMARY KEY REFERENCES tokens(id),
            url TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    ),
    (
        "0200_history_rollups",
        """
        CREATE INDEX alerts_started ON alerts(started_at);
        CREATE TABLE history_flags (
            alert_id TEXT PRIMARY KEY REFERENCES alerts(id),
            estimated_end INTEGER NOT NULL DEFAULT 0,
            open_ended INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE history_rollup_hour (
            region_id TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            alerts INTEGER NOT NULL,
            ms INTEGER NOT NULL,
            PRIMARY KEY (region_id, bucket, source, kind)
        ) WITHOUT ROWID;
        CREATE TABLE history_rollup_day (
            region_id TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            alerts INTEGER NOT NULL,
            ms INTEGER NOT NULL,
            PRIMARY KEY (region_id, bucket, source, kind)
        ) WITHOUT ROWID;
        CREATE INDEX history_rollup_hour_bucket ON history_rollup_hour(bucket, source, kind, alerts, ms);
        CREATE INDEX history_rollup_day_bucket ON history_rollup_day(bucket, source, kind, alerts, ms);
        """,
    ),
    (
        "0300_delivery_webhooks",
        """
        CREATE TABLE webhook_subscriptions (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            filter TEXT NOT NULL,
            kind TEXT NOT NULL,
            format TEXT NOT NULL,
            headers TEXT NOT NULL,
            owner TEXT,
            after_seq INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            deleted_at TEXT
        );
        CREATE INDEX webhook_subscriptions_kind ON webhook_subscriptions(kind, owner);
        CREATE TABLE webhook_messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            subscription_id TEXT NOT NULL,
            msg_id TEXT NOT NULL UNIQUE,
            dedupe_key TEXT,
            seq INTEGER,
            body TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_at REAL NOT NULL,
            created REAL NOT NULL,
            finished REAL,
            last_error TEXT,
            UNIQUE (subscription_id, dedupe_key)
        );
        CREATE INDEX webhook_messages_queue ON webhook_messages(subscription_id, state, id);
        CREATE INDEX webhook_messages_state ON webhook_messages(state);
        CREATE TABLE webhook_attempts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id INTEGER NOT NULL,
            subscription_id TEXT NOT NULL,
            seq INTEGER,
            attempt INTEGER NOT NULL,
            status_code INTEGER,
            error TEXT,
            latency_ms INTEGER NOT NULL,
            at REAL NOT NULL
        );
        CREATE INDEX webhook_attempts_subscription ON webhook_attempts(subscription_id, id);
        CREATE TABLE delivery_cursors (
            name TEXT PRIMARY KEY,
            seq INTEGER NOT NULL
        );
        """,
    ),
    (
        "0301_delivery_push",
        """
        CREATE TABLE push_subscriptions (
            id TEXT PRIMARY KEY,
            endpoint TEXT NOT NULL UNIQUE,
            p256dh TEXT NOT NULL,
            auth TEXT NOT NULL,
            filter TEXT NOT NULL,
            lang TEXT NOT NULL,
            created_at TEXT NOT NULL,
            failures INTEGER NOT NULL
        );
        """,
    ),
    (
        "0401_compat_webhook_subscriptions",
        """
        ALTER TABLE compat_webhooks ADD COLUMN subscription_id TEXT;
        """,
    ),
)
