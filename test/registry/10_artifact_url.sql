-- r10_artifact_url: model_versions.artifact_uri renamed to artifact_url.
-- RENAME COLUMN keeps the data; the downgrade renames it back.
SELECT migrate.revision(
    id            => 'r10_artifact_url',
    down_revision => '{r09_framework}',
    message       => 'rename model_versions.artifact_uri to artifact_url',
    upgrade       => $$
        ALTER TABLE model_versions RENAME COLUMN artifact_uri TO artifact_url;
    $$,
    downgrade     => $$
        ALTER TABLE model_versions RENAME COLUMN artifact_url TO artifact_uri;
    $$);
