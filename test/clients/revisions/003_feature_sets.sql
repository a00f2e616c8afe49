-- r3_features: a second child of r1_models, starting the branch labelled
-- "features" (r1_models becomes a branch point).
SELECT migrate.revision(
    id            => 'r3_features',
    down_revision => '{r1_models}',
    branch_labels => '{features}',
    upgrade       => $$
        CREATE TABLE feature_sets (
            id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            model_id bigint NOT NULL REFERENCES models,
            name     text NOT NULL,
            columns  text[] NOT NULL,
            UNIQUE (model_id, name)
        );
        INSERT INTO app_migration_log (revision, pid) VALUES ('r3_features', pg_backend_pid());
    $$,
    downgrade     => $$
        DROP TABLE feature_sets;
        DELETE FROM app_migration_log WHERE revision = 'r3_features';
    $$,
    message       => 'create feature_sets');
