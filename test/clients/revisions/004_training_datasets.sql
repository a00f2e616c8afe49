-- r4_datasets: on the "features" branch, but its table references
-- model_versions, which lives on the other branch: depends_on makes
-- r2_versions run first without making it a parent.
SELECT migrate.revision(
    id            => 'r4_datasets',
    down_revision => '{r3_features}',
    depends_on    => '{r2_versions}',
    upgrade       => $$
        CREATE TABLE training_datasets (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            feature_set_id bigint NOT NULL REFERENCES feature_sets,
            model_id       bigint NOT NULL,
            version        integer NOT NULL,
            uri            text NOT NULL,
            FOREIGN KEY (model_id, version) REFERENCES model_versions
        );
        INSERT INTO app_migration_log (revision, pid) VALUES ('r4_datasets', pg_backend_pid());
    $$,
    downgrade     => $$
        DROP TABLE training_datasets;
        DELETE FROM app_migration_log WHERE revision = 'r4_datasets';
    $$,
    message       => 'create training_datasets');
