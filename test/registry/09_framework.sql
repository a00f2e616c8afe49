-- r09_framework: a data migration in three steps (expand, backfill,
-- contract). model_versions.framework is added nullable, filled from
-- metrics->>'framework' or guessed from the artifact's file extension
-- ('unknown' otherwise), then made NOT NULL.
--
-- The downgrade drops the column. So that a framework set after the upgrade
-- is not lost, it is first written into metrics->'framework' for every row
-- where the upgrade's backfill would not give the same value back; rows the
-- backfill reproduces are left exactly as they were.
SELECT migrate.revision(
    id            => 'r09_framework',
    down_revision => '{r08_merge}',
    message       => 'model_versions.framework: add nullable, backfill, set NOT NULL',
    upgrade       => $$
        ALTER TABLE model_versions ADD COLUMN framework text;
        UPDATE model_versions
           SET framework = coalesce(
                   nullif(metrics->>'framework', ''),
                   CASE
                       WHEN artifact_uri ~* '\.onnx$'            THEN 'onnx'
                       WHEN artifact_uri ~* '\.(pt|pth)$'        THEN 'pytorch'
                       WHEN artifact_uri ~* '\.(h5|keras)$'      THEN 'tensorflow'
                       WHEN artifact_uri ~* '\.(pkl|joblib)$'    THEN 'sklearn'
                   END,
                   'unknown');
        ALTER TABLE model_versions ALTER COLUMN framework SET NOT NULL;
    $$,
    downgrade     => $$
        UPDATE model_versions
           SET metrics = metrics || jsonb_build_object('framework', framework)
         WHERE framework IS DISTINCT FROM coalesce(
                   nullif(metrics->>'framework', ''),
                   CASE
                       WHEN artifact_uri ~* '\.onnx$'            THEN 'onnx'
                       WHEN artifact_uri ~* '\.(pt|pth)$'        THEN 'pytorch'
                       WHEN artifact_uri ~* '\.(h5|keras)$'      THEN 'tensorflow'
                       WHEN artifact_uri ~* '\.(pkl|joblib)$'    THEN 'sklearn'
                   END,
                   'unknown');
        ALTER TABLE model_versions DROP COLUMN framework;
    $$);
