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
        "0500_auth_accounts",
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            password_hash TEXT,
            builtin INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            disabled_at TEXT,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT
        );
        CREATE TABLE user_scopes (
            user_id INTEGER NOT NULL REFERENCES users(id),
            region_id TEXT NOT NULL,
            PRIMARY KEY (user_id, region_id)
        );
        CREATE TABLE user_channels (
            user_id INTEGER NOT NULL REFERENCES users(id),
            channel_id TEXT NOT NULL,
            PRIMARY KEY (user_id, channel_id)
        );
        INSERT INTO users (name, role, builtin, created_at)
            VALUES ('admin', 'admin', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
        ALTER TABLE tokens ADD COLUMN user_id INTEGER REFERENCES users(id);
        ALTER TABLE tokens ADD COLUMN expires_at TEXT;
        CREATE TABLE sessions (
            hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT
        );
        """,
    ),
    (
        "0501_auth_audit",
        """
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX audit_action ON audit(action, seq);
        CREATE TABLE audit_head (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,
            hash TEXT NOT NULL
        );
        """,
    ),
    (
        "0502_auth_approvals",
        """
        CREATE TABLE approvals (
            id TEXT PRIMARY KEY,
            action TEXT NOT NULL,
            alert_id TEXT,
            state TEXT NOT NULL,
            requested_by INTEGER NOT NULL REFERENCES users(id),
            requester TEXT NOT NULL,
            requested_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            regions TEXT NOT NULL,
            reasons TEXT NOT NULL,
            request TEXT NOT NULL,
            idempotency_key TEXT,
            decided_by INTEGER REFERENCES users(id),
            decider TEXT,
            decided_at TEXT,
            decision_reason TEXT,
            result_alert_id TEXT
        );
        CREATE INDEX approvals_state ON approvals(state, requested_at);
        CREATE UNIQUE INDEX approvals_idempotency ON approvals(requested_by, idempotency_key)
            WHERE idempotency_key IS NOT NULL;
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
    (
        "0800_targeting_places",
        """
        CREATE TABLE places (
            n INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            subscriber TEXT NOT NULL,
            kind TEXT NOT NULL,
            lat REAL,
            lon REAL,
            regions TEXT NOT NULL,
            level TEXT,
            label TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX places_subscriber ON places(subscriber, n);
        CREATE TABLE place_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            n INTEGER NOT NULL,
            op TEXT NOT NULL
        );
        """,
    ),
    (
        "0801_targeting_shelters",
        """
        CREATE TABLE shelters (
            n INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            ref TEXT NOT NULL,
            name TEXT,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            capacity INTEGER,
            accessibility TEXT,
            hours TEXT,
            address TEXT,
            kind TEXT,
            line INTEGER NOT NULL
        );
        CREATE INDEX shelters_source ON shelters(source);
        CREATE TABLE shelter_imports (
            revision INTEGER PRIMARY KEY AUTOINCREMENT,
            source TEXT NOT NULL,
            file TEXT NOT NULL,
            format TEXT NOT NULL,
            imported INTEGER NOT NULL,
            replaced INTEGER NOT NULL,
            rejected INTEGER NOT NULL,
            at TEXT NOT NULL,
            actor TEXT NOT NULL
        );
        """,
    ),
    (
        "0700_cap_messages",
        """
        CREATE TABLE cap_messages (
            sender TEXT NOT NULL,
            identifier TEXT NOT NULL,
            sent TEXT NOT NULL,
            msg_type TEXT NOT NULL,
            status TEXT NOT NULL,
            alert_id TEXT,
            outcome TEXT NOT NULL,
            origin TEXT NOT NULL,
            signature TEXT NOT NULL,
            received_at TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (sender, identifier, sent)
        );
        CREATE INDEX cap_messages_alert ON cap_messages(alert_id);
        CREATE TABLE cap_references (
            sender TEXT NOT NULL,
            identifier TEXT NOT NULL,
            sent TEXT NOT NULL,
            position INTEGER NOT NULL,
            ref_sender TEXT NOT NULL,
            ref_identifier TEXT NOT NULL,
            ref_sent TEXT NOT NULL,
            PRIMARY KEY (sender, identifier, sent, position)
        );
        CREATE INDEX cap_references_target ON cap_references(ref_sender, ref_identifier, ref_sent);
        """,
    ),
    (
        "0900_cluster_leases",
        """
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            until REAL NOT NULL,
            taken REAL NOT NULL
        );
        """,
    ),
    (
        "1000_advisories",
        """
        CREATE TABLE channels (
            id TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE advisories (
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            state TEXT NOT NULL,
            channel_id TEXT,
            type TEXT NOT NULL,
            status TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            expires_at TEXT,
            body TEXT NOT NULL
        );
        CREATE INDEX advisories_state ON advisories(state, expires_at);
        CREATE INDEX advisories_updated ON advisories(updated_at);
        CREATE TABLE advisory_versions (
            advisory_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            event_seq INTEGER NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (advisory_id, version)
        );
        CREATE TABLE reports (
            id TEXT PRIMARY KEY,
            alert_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            region_id TEXT NOT NULL,
            added_at TEXT NOT NULL,
            event_seq INTEGER NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX reports_alert ON reports(alert_id, added_at);
        CREATE INDEX reports_added ON reports(added_at);
        CREATE TABLE report_rollup_hour (
            region_id TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            threat TEXT NOT NULL,
            reported INTEGER NOT NULL,
            intercepted INTEGER NOT NULL,
            impacts INTEGER NOT NULL,
            PRIMARY KEY (region_id, bucket, threat)
        ) WITHOUT ROWID;
        CREATE INDEX report_rollup_hour_bucket ON report_rollup_hour(bucket);
        CREATE TABLE all_clears (
            alert_id TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            event_seq INTEGER NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX all_clears_expires ON all_clears(expires_at);
        CREATE TABLE coordination_messages (
            id TEXT PRIMARY KEY,
            sender TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE TABLE coordination_receipts (
            message_id TEXT NOT NULL,
            addressee TEXT NOT NULL,
            delivered_at TEXT,
            read_at TEXT,
            acknowledged_at TEXT,
            acknowledged_by TEXT,
            note TEXT,
            level INTEGER NOT NULL DEFAULT 0,
            escalated_at TEXT,
            next_at TEXT,
            notified TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (message_id, addressee)
        );
        CREATE INDEX coordination_receipts_due ON coordination_receipts(next_at);
        CREATE TABLE coordination_access (
            user_name TEXT NOT NULL,
            message_id TEXT NOT NULL,
            PRIMARY KEY (user_name, message_id)
        );
        """,
    ),
    (
        "1100_alerts_lean_writes",
        # Fewer pages per alert commit: a version names its event (whose body is the alert as that version left
        # it) instead of storing the body a third time, in a table clustered on its key; the region rows are
        # clustered on theirs; the event log keeps the sequence numbers it is given (MAX + 1 under the one
        # writer) without the ``sqlite_sequence`` row that AUTOINCREMENT rewrote on every commit.
        """
        CREATE TABLE events_lean (
            seq INTEGER PRIMARY KEY,
            type TEXT NOT NULL,
            alert_id TEXT NOT NULL,
            at TEXT NOT NULL,
            body TEXT NOT NULL
        );
        INSERT INTO events_lean (seq, type, alert_id, at, body) SELECT seq, type, alert_id, at, body FROM events;
        DROP TABLE events;
        ALTER TABLE events_lean RENAME TO events;
        CREATE TABLE alert_versions_lean (
            alert_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            event_seq INTEGER NOT NULL,
            PRIMARY KEY (alert_id, version)
        ) WITHOUT ROWID;
        INSERT INTO alert_versions_lean (alert_id, version, event_seq)
            SELECT alert_id, version, event_seq FROM alert_versions;
        DROP TABLE alert_versions;
        ALTER TABLE alert_versions_lean RENAME TO alert_versions;
        CREATE TABLE alert_regions_lean (
            alert_id TEXT NOT NULL REFERENCES alerts(id),
            region_id TEXT NOT NULL,
            partial INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (alert_id, region_id)
        ) WITHOUT ROWID;
        INSERT INTO alert_regions_lean (alert_id, region_id, partial)
            SELECT alert_id, region_id, partial FROM alert_regions;
        DROP TABLE alert_regions;
        ALTER TABLE alert_regions_lean RENAME TO alert_regions;
        CREATE INDEX alert_regions_region ON alert_regions(region_id);
        """,
    ),
    (
        "1200_delivery_subscription_revisions",
        # A counter per table that readers cache: the database moves it itself, in the transaction of every
        # change to the table, whichever process or connection makes it (so a cached copy read at revision R is
        # still the table's content for as long as the counter reads R). The store's writer reads it with each
        # commit of events (``Store.revision_at``), which lets the webhook enqueuer keep its list. A later
        # migration that rebuilds ``webhook_subscriptions`` must create the three triggers again (a test checks
        # that they exist after every migration).
        """
        CREATE TABLE revisions (
            name TEXT PRIMARY KEY,
            rev INTEGER NOT NULL
        );
        INSERT INTO revisions (name, rev) VALUES ('webhook_subscriptions', 0);
        CREATE TRIGGER webhook_subscriptions_inserted AFTER INSERT ON webhook_subscriptions BEGIN
            UPDATE revisions SET rev = rev + 1 WHERE name = 'webhook_subscriptions';
        END;
        CREATE TRIGGER webhook_subscriptions_updated AFTER UPDATE ON webhook_subscriptions BEGIN
            UPDATE revisions SET rev = rev + 1 WHERE name = 'webhook_subscriptions';
        END;
        CREATE TRIGGER webhook_subscriptions_deleted AFTER DELETE ON webhook_subscriptions BEGIN
            UPDATE revisions SET rev = rev + 1 WHERE name = 'webhook_subscriptions';
        END;
        """,
    ),
)
