-- r06_catalog_owners: branch "catalog", developed in parallel with
-- "monitoring". Who owns each feature.
SELECT migrate.revision(
    id            => 'r06_catalog_owners',
    down_revision => '{r04_promotion_audit}',
    branch_labels => '{catalog}',
    message       => 'feature ownership: feature_owners, features.owner_id',
    upgrade       => $$
        CREATE TABLE feature_owners (
            id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name   text NOT NULL UNIQUE,
            team   text NOT NULL,
            email  text UNIQUE
        );
        ALTER TABLE features
            ADD COLUMN owner_id bigint REFERENCES feature_owners (id) ON DELETE SET NULL;
        CREATE INDEX features_owner_id_idx ON features (owner_id);
    $$,
    downgrade     => $$
        DROP INDEX features_owner_id_idx;
        ALTER TABLE features DROP COLUMN owner_id;
        DROP TABLE feature_owners;
    $$);
