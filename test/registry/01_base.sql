-- r01_base: the model registry and feature catalog, first release.
-- Models and their numbered versions; feature sets and their features.
SELECT migrate.revision(
    id            => 'r01_base',
    down_revision => '{}',
    message       => 'base: models, model_versions, feature_sets, features',
    upgrade       => $$
        CREATE TABLE models (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name        text NOT NULL UNIQUE,
            task        text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE model_versions (
            model_id      bigint NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            version       integer NOT NULL CHECK (version > 0),
            artifact_uri  text NOT NULL,
            metrics       jsonb NOT NULL DEFAULT '{}',
            created_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (model_id, version)
        );
        CREATE TABLE feature_sets (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name         text NOT NULL UNIQUE,
            description  text,
            created_at   timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE features (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            feature_set_id  bigint NOT NULL REFERENCES feature_sets (id) ON DELETE CASCADE,
            name            text NOT NULL,
            dtype           text NOT NULL,
            UNIQUE (feature_set_id, name)
        );
    $$,
    downgrade     => $$
        DROP TABLE features;
        DROP TABLE feature_sets;
        DROP TABLE model_versions;
        DROP TABLE models;
    $$);
