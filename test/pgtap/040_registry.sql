/*
 * 040_registry.sql: the model registry example of test/registry end to
 * end: revision files loaded out of order, one head, the round trip of every
 * revision, upgrade to heads, the seed (test/demo/registry_seed.sql), the
 * one-production-version rule and its audit trigger, lineage and
 * migrate.objects, a branch taken down and up again with the data intact,
 * and migrate.validate().
 *
 * registry_seed.sql runs its own BEGIN ... COMMIT.  Loaded with \ir inside
 * this file's transaction, its BEGIN only warns and its COMMIT commits what
 * came before (the registered and applied revisions and their tables);
 * pgTAP's state lives in temporary tables, so the file goes on in a new
 * transaction that is rolled back at the end.  pg_temp.registry_cleanup()
 * then removes what the commit left (tables, catalog rows, lineage rows;
 * the append-only migrate.events keeps its rows), and also runs first, in
 * case an earlier run stopped half-way.
 */
\set QUIET 1
SET client_min_messages = warning;
SET pg_migrate.quiet = on;

CREATE FUNCTION pg_temp.registry_cleanup() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	ids text[] := ARRAY['r01_base', 'r02_lineage', 'r03_stage', 'r04_promotion_audit',
						'r05_monitoring', 'r06_catalog_owners', 'r07_catalog_tags',
						'r08_merge', 'r09_framework', 'r10_artifact_url'];
BEGIN
	IF NOT EXISTS (SELECT 1 FROM migrate.revisions WHERE id = ANY (ids)) THEN
		RETURN;
	END IF;
	PERFORM set_config('pg_migrate.drift', 'off', true);
	DROP TABLE IF EXISTS public.prediction_logs, public.feature_tags, public.feature_owners,
		public.promotion_events, public.model_version_inputs, public.datasets,
		public.features, public.feature_sets, public.model_versions, public.models CASCADE;
	DROP FUNCTION IF EXISTS public.log_model_version_promotion();
	DROP TYPE IF EXISTS public.model_stage;
	DELETE FROM migrate.applied WHERE revision = ANY (ids);
	DELETE FROM migrate.revisions WHERE id = ANY (ids);
	DELETE FROM migrate.object_changes WHERE revision = ANY (ids);
	DELETE FROM migrate.managed_schemas m
	 WHERE m.schema_name = 'public'
	   AND NOT EXISTS (SELECT 1 FROM migrate.object_changes c WHERE c.schema_name = 'public');
END $$;
SELECT pg_temp.registry_cleanup() \g /dev/null

BEGIN;
SELECT plan(25);

/* ---------------------------------------------------------- registering */

-- the revision files, in a shuffled order (parents after children)
\o /dev/null
\ir ../registry/10_artifact_url.sql
\ir ../registry/05_monitoring.sql
\ir ../registry/08_merge.sql
\ir ../registry/01_base.sql
\ir ../registry/07_catalog_tags.sql
\ir ../registry/03_stage.sql
\ir ../registry/09_framework.sql
\ir ../registry/02_lineage.sql
\ir ../registry/06_catalog_owners.sql
\ir ../registry/04_promotion_audit.sql
\o

SELECT set_eq('SELECT id FROM migrate.revisions',
			  ARRAY['r01_base', 'r02_lineage', 'r03_stage', 'r04_promotion_audit',
					'r05_monitoring', 'r06_catalog_owners', 'r07_catalog_tags',
					'r08_merge', 'r09_framework', 'r10_artifact_url'],
			  'the ten registry revisions are registered, whatever the order of the files');

SELECT * FROM migrate.tap_single_head();

/* ---------------------------------------------------------- round trips */

SELECT * FROM migrate.tap_roundtrip();

SELECT is((SELECT count(*) FILTER (WHERE ok)::int FROM migrate.check_roundtrip('heads')), 10,
		  'check_roundtrip(): all ten revisions are checked and pass');

SELECT * FROM migrate.tap_up_down_up();

SELECT ok(NOT EXISTS (SELECT 1 FROM migrate.applied) AND to_regclass('public.models') IS NULL,
		  'the round-trip helpers leave nothing applied and no table behind');

/* ---------------------------------------------------------- upgrade */

CREATE TEMP TABLE up1 AS SELECT * FROM migrate.upgrade('heads');

SELECT is((SELECT count(*)::int FROM up1), 10, 'upgrade(''heads'') applies 10 revisions');

SELECT set_eq('SELECT revision, operation FROM up1',
			  $$SELECT id, 'upgrade'::text FROM migrate.revisions$$,
			  'upgrade(''heads'') runs the upgrade of every registered revision');

SELECT is_empty($$
	SELECT c.revision, p.parent
	  FROM up1 c
	  JOIN migrate.revisions r ON r.id = c.revision
	  CROSS JOIN LATERAL unnest(r.down_revision) AS p(parent)
	  JOIN up1 pu ON pu.revision = p.parent
	 WHERE pu.step >= c.step$$,
	'upgrade(''heads'') runs every parent before its children');

SELECT results_eq('SELECT revision FROM migrate.current()', ARRAY['r10_artifact_url'],
				  'current() is r10_artifact_url after the upgrade');

/* ---------------------------------------------------------- the seed */

-- registry_seed.sql commits (see the top of this file); its listings are discarded
SET client_min_messages = error;
\o /dev/null
\ir ../demo/registry_seed.sql
\o
BEGIN;
SET LOCAL client_min_messages = warning;

CREATE TEMP VIEW seed_counts AS
SELECT (SELECT count(*) FROM models)               AS models,
	   (SELECT count(*) FROM model_versions)       AS model_versions,
	   (SELECT count(*) FROM feature_sets)         AS feature_sets,
	   (SELECT count(*) FROM features)             AS features,
	   (SELECT count(*) FROM datasets)             AS datasets,
	   (SELECT count(*) FROM model_version_inputs) AS model_version_inputs,
	   (SELECT count(*) FROM promotion_events)     AS promotion_events;

SELECT results_eq('SELECT * FROM seed_counts',
				  'VALUES (3::bigint, 6::bigint, 3::bigint, 9::bigint, 4::bigint, 8::bigint, 4::bigint)',
				  'the seed loads: 3 models, 6 versions, 3 feature sets, 9 features, 4 datasets, 8 inputs, 4 promotion events');

SELECT throws_ok($$
	UPDATE model_versions mv SET stage = 'production'
	  FROM models m
	 WHERE m.id = mv.model_id AND m.name = 'churn-predictor' AND mv.version = 3$$,
	'23505', NULL,
	'a second production version of churn-predictor is refused (23505)');

SELECT results_eq($$
	SELECT m.name, pe.version, pe.from_stage::text, pe.to_stage::text
	  FROM promotion_events pe JOIN models m ON m.id = pe.model_id
	 ORDER BY pe.id$$,
	$$VALUES ('churn-predictor'::text, 2, 'none'::text, 'staging'::text),
			 ('fraud-detector', 2, 'none', 'staging'),
			 ('churn-predictor', 1, 'none', 'archived'),
			 ('churn-predictor', 2, 'staging', 'production')$$,
	'the promotion trigger wrote one promotion_events row per stage change of the seed');

/* ---------------------------------------------------------- lineage */

SELECT is((SELECT revision FROM migrate.lineage('public.model_versions.stage') LIMIT 1),
		  'r03_stage',
		  'lineage(public.model_versions.stage) starts with r03_stage');

SELECT bag_has($$SELECT revision, action, object_identity
				  FROM migrate.lineage('public.model_versions.artifact_url')$$,
			   $$VALUES ('r01_base'::text, 'create'::text, 'public.model_versions.artifact_uri'::text)$$,
			   'lineage(public.model_versions.artifact_url) includes its creation as artifact_uri by r01_base');

SELECT bag_has($$SELECT revision, action, object_identity
				  FROM migrate.lineage('public.model_versions.artifact_url')$$,
			   $$VALUES ('r10_artifact_url'::text, 'rename'::text, 'public.model_versions.artifact_url'::text)$$,
			   'lineage(public.model_versions.artifact_url) includes the rename by r10_artifact_url');

SELECT is((SELECT created_by FROM migrate.objects
			WHERE object_identity = 'public.model_versions.framework'),
		  'r09_framework',
		  'migrate.objects: public.model_versions.framework was created by r09_framework');

SELECT is_empty($$SELECT * FROM migrate.validate() WHERE severity = 'error'$$,
				'validate() reports no error after the upgrade and the seed');

/* ---------------------------------------------------------- one branch down and up */

CREATE TEMP TABLE counts_before AS SELECT * FROM seed_counts;
CREATE TEMP TABLE versions_before AS
	SELECT model_id, version, artifact_url, stage::text, framework FROM model_versions;

CREATE TEMP TABLE down1 AS SELECT * FROM migrate.downgrade('monitoring@r04_promotion_audit');

SELECT results_eq('SELECT revision, operation FROM down1 ORDER BY step',
				  $$VALUES ('r10_artifact_url'::text, 'downgrade'::text), ('r09_framework', 'downgrade'),
						   ('r08_merge', 'downgrade'), ('r05_monitoring', 'downgrade')$$,
				  'downgrade(''monitoring@r04_promotion_audit'') takes down r10, r09, r08 and r05');

SELECT results_eq('SELECT revision FROM migrate.current()', ARRAY['r07_catalog_tags'],
				  'current() is r07_catalog_tags: the catalog branch stays');

SELECT ok(to_regclass('public.prediction_logs') IS NULL
		  AND to_regclass('public.feature_tags') IS NOT NULL,
		  'prediction_logs is gone, feature_tags (catalog branch) is still there');

CREATE TEMP TABLE up2 AS SELECT * FROM migrate.upgrade('heads');

SELECT set_eq('SELECT revision FROM up2',
			  ARRAY['r05_monitoring', 'r08_merge', 'r09_framework', 'r10_artifact_url'],
			  'upgrade(''heads'') applies r05, r08, r09 and r10 again');

SELECT results_eq('SELECT * FROM seed_counts', 'SELECT * FROM counts_before',
				  'the row counts of the seed are the same after the branch went down and up');

SELECT set_eq('SELECT model_id, version, artifact_url, stage::text, framework FROM model_versions',
			  'SELECT * FROM versions_before',
			  'every model version keeps its artifact_url, stage and framework');

SELECT is_empty($$SELECT * FROM migrate.validate() WHERE severity = 'error'$$,
				'validate() reports no error at the end');

SELECT * FROM finish();
ROLLBACK;

SELECT pg_temp.registry_cleanup() \g /dev/null
