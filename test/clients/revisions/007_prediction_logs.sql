-- r7_predictions: what each blessed version predicted.
SELECT migrate.revision(
    id            => 'r7_predictions',
    down_revision => '{r6_stage}',
    upgrade       => $$
        CREATE TABLE prediction_logs (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            model_id    bigint NOT NULL,
            version     integer NOT NULL,
            input       jsonb NOT NULL,
            output      jsonb NOT NULL,
            predicted_at timestamptz NOT NULL DEFAULT now(),
            FOREIGN KEY (model_id, version) REFERENCES model_versions
        );
        INSERT INTO app_migration_log (revision, pid) VALUES ('r7_predictions', pg_backend_pid());
    $$,
    downgrade     => $$
        DROP TABLE prediction_logs;
        DELETE FROM app_migration_log WHERE revision = 'r7_predictions';
    $$,
    message       => 'create prediction_logs');
