-- r03_stage: a lifecycle stage on every model version, and at most one
-- production version per model (a partial unique index). The verify step
-- checks that the index exists once the upgrade has run.
SELECT migrate.revision(
    id            => 'r03_stage',
    down_revision => '{r02_lineage}',
    message       => 'model_versions.stage, at most one production version per model',
    upgrade       => $$
        CREATE TYPE model_stage AS ENUM ('none', 'staging', 'production', 'archived');
        ALTER TABLE model_versions
            ADD COLUMN stage model_stage NOT NULL DEFAULT 'none';
        CREATE UNIQUE INDEX model_versions_one_production
            ON model_versions (model_id) WHERE stage = 'production';
    $$,
    downgrade     => $$
        DROP INDEX model_versions_one_production;
        ALTER TABLE model_versions DROP COLUMN stage;
        DROP TYPE model_stage;
    $$,
    verify        => $$
        SELECT count(*) = 1 FROM pg_indexes
         WHERE schemaname = current_schema()
           AND tablename = 'model_versions'
           AND indexname = 'model_versions_one_production'
    $$);
