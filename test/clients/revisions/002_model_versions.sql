-- r2_versions: the versions of each model.
SELECT migrate.revision(
    id            => 'r2_versions',
    down_revision => '{r1_models}',
    upgrade       => $$
        CREATE TABLE model_versions (
            model_id     bigint NOT NULL REFERENCES models,
            version      integer NOT NULL,
            artifact_uri text NOT NULL,
            metrics      jsonb NOT NULL DEFAULT '{}',
            PRIMARY KEY (model_id, version)
        );
        INSERT INTO app_migration_log (revision, pid) VALUES ('r2_versions', pg_backend_pid());
    $$,
    downgrade     => $$
        DROP TABLE model_versions;
        DELETE FROM app_migration_log WHERE revision = 'r2_versions';
    $$,
    message       => 'create model_versions');
