-- r05_monitoring: branch "monitoring", developed in parallel with
-- "catalog". Prediction logs of the serving path, partitioned by month.
SELECT migrate.revision(
    id            => 'r05_monitoring',
    down_revision => '{r04_promotion_audit}',
    branch_labels => '{monitoring}',
    message       => 'prediction_logs, partitioned by month',
    upgrade       => $$
        CREATE TABLE prediction_logs (
            id            bigserial,
            model_id      bigint      NOT NULL,
            version       integer     NOT NULL,
            predicted_at  timestamptz NOT NULL,
            request_id    uuid,
            input         jsonb,
            output        jsonb,
            latency_ms    real CHECK (latency_ms >= 0),
            PRIMARY KEY (id, predicted_at),
            FOREIGN KEY (model_id, version)
                REFERENCES model_versions (model_id, version)
        ) PARTITION BY RANGE (predicted_at);
        CREATE INDEX prediction_logs_version_idx
            ON prediction_logs (model_id, version, predicted_at);
        CREATE TABLE prediction_logs_2026_10 PARTITION OF prediction_logs
            FOR VALUES FROM ('2026-10-01 00:00+00') TO ('2026-11-01 00:00+00');
        CREATE TABLE prediction_logs_2026_11 PARTITION OF prediction_logs
            FOR VALUES FROM ('2026-11-01 00:00+00') TO ('2026-12-01 00:00+00');
        CREATE TABLE prediction_logs_2026_12 PARTITION OF prediction_logs
            FOR VALUES FROM ('2026-12-01 00:00+00') TO ('2027-01-01 00:00+00');
        CREATE TABLE prediction_logs_2027_01 PARTITION OF prediction_logs
            FOR VALUES FROM ('2027-01-01 00:00+00') TO ('2027-02-01 00:00+00');
        CREATE TABLE prediction_logs_default PARTITION OF prediction_logs DEFAULT;
    $$,
    downgrade     => $$
        DROP TABLE prediction_logs;
    $$);
