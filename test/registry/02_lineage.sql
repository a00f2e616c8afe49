-- r02_lineage: training datasets, and which datasets and feature sets each
-- model version was trained on (the lineage of its inputs).
SELECT migrate.revision(
    id            => 'r02_lineage',
    down_revision => '{r01_base}',
    message       => 'training datasets and model version lineage',
    upgrade       => $$
        CREATE TABLE datasets (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name         text NOT NULL UNIQUE,
            uri          text NOT NULL,
            row_count    bigint CHECK (row_count >= 0),
            snapshot_at  timestamptz,
            created_at   timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE model_version_inputs (
            model_id        bigint  NOT NULL,
            version         integer NOT NULL,
            dataset_id      bigint  NOT NULL REFERENCES datasets (id),
            feature_set_id  bigint  NOT NULL REFERENCES feature_sets (id),
            PRIMARY KEY (model_id, version, dataset_id, feature_set_id),
            FOREIGN KEY (model_id, version)
                REFERENCES model_versions (model_id, version) ON DELETE CASCADE
        );
        CREATE INDEX model_version_inputs_dataset_idx ON model_version_inputs (dataset_id);
        CREATE INDEX model_version_inputs_feature_set_idx ON model_version_inputs (feature_set_id);
    $$,
    downgrade     => $$
        DROP TABLE model_version_inputs;
        DROP TABLE datasets;
    $$);
