-- r6_stage: a column with a default (a constant default: no table rewrite),
-- and at most one version of each model in production.
SELECT migrate.revision(
    id            => 'r6_stage',
    down_revision => '{r5_merge}',
    upgrade       => $$
        ALTER TABLE model_versions ADD COLUMN stage text NOT NULL DEFAULT 'staging';
        CREATE UNIQUE INDEX model_versions_one_blessed
            ON model_versions (model_id) WHERE stage = 'production';
        INSERT INTO app_migration_log (revision, pid) VALUES ('r6_stage', pg_backend_pid());
    $$,
    downgrade     => $$
        DROP INDEX model_versions_one_blessed;
        ALTER TABLE model_versions DROP COLUMN stage;
        DELETE FROM app_migration_log WHERE revision = 'r6_stage';
    $$,
    message       => 'add model_versions.stage, one blessed version per model');
