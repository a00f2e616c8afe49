-- r07_catalog_tags: branch "catalog" (a child of r06_catalog_owners, so it
-- belongs to the branch without declaring the label). Free-form tags on
-- features.
SELECT migrate.revision(
    id            => 'r07_catalog_tags',
    down_revision => '{r06_catalog_owners}',
    message       => 'feature tags',
    upgrade       => $$
        CREATE TABLE feature_tags (
            feature_id  bigint NOT NULL REFERENCES features (id) ON DELETE CASCADE,
            tag         text   NOT NULL CHECK (tag ~ '^[a-z0-9_:.-]+$'),
            PRIMARY KEY (feature_id, tag)
        );
        CREATE INDEX feature_tags_tag_idx ON feature_tags (tag);
    $$,
    downgrade     => $$
        DROP TABLE feature_tags;
    $$);
