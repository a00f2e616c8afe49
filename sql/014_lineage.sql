-- Lineage: which revision made each object, column by column.
CREATE EXTENSION pg_migrate;
SET pg_migrate.quiet = on;
CREATE SCHEMA reg;

SELECT migrate.revision(id => 'g1', down_revision => '{}', message => 'models',
    upgrade => $$CREATE TABLE reg.models (id bigint PRIMARY KEY, name text)$$,
    downgrade => $$DROP TABLE reg.models$$);
SELECT migrate.revision(id => 'g2', message => 'stage column, index, not null',
    upgrade => $$ALTER TABLE reg.models ADD COLUMN stage text DEFAULT 'dev';
                 ALTER TABLE reg.models ALTER COLUMN name SET NOT NULL;
                 CREATE INDEX models_stage ON reg.models (stage);
                 CREATE FUNCTION reg.promote(bigint) RETURNS void LANGUAGE sql AS 'SELECT';$$,
    downgrade => $$DROP FUNCTION reg.promote(bigint);
                   DROP INDEX reg.models_stage;
                   ALTER TABLE reg.models ALTER COLUMN name DROP NOT NULL;
                   ALTER TABLE reg.models DROP COLUMN stage;$$);
SELECT migrate.revision(id => 'g3', message => 'rename stage to lifecycle',
    upgrade => $$ALTER TABLE reg.models RENAME COLUMN stage TO lifecycle;
                 ALTER TABLE reg.models ALTER COLUMN lifecycle TYPE varchar(20)$$,
    downgrade => $$ALTER TABLE reg.models ALTER COLUMN lifecycle TYPE text;
                   ALTER TABLE reg.models RENAME COLUMN lifecycle TO stage$$);
SELECT count(*) FROM migrate.upgrade('heads');

-- Every object the revisions made, with the revision that created it and
-- the last one that changed it.
SELECT object_type, object_identity, created_by, last_changed_by FROM migrate.objects ORDER BY object_identity;

-- The history of one column follows its rename.
SELECT revision, message, direction, action, command, object_identity, applied_by = current_user AS by_me
FROM migrate.lineage('reg.models.lifecycle');
SELECT revision, action, command FROM migrate.lineage('reg.models');
SELECT revision, action, object_identity FROM migrate.lineage('reg.promote');
SELECT revision, action, object_identity FROM migrate.lineage('reg.models_stage');

-- Down and up again: the dropped and re-created column shows both lives.
SELECT count(*) FROM migrate.downgrade('g1');
SELECT count(*) FROM migrate.upgrade('heads');
SELECT revision, direction, action, object_identity FROM migrate.lineage('reg.models.lifecycle');

-- DDL on a managed schema outside any revision is drift: recorded, shown by
-- validate(), or refused with pg_migrate.drift = error; schemas no revision
-- touched are never affected.
ALTER TABLE reg.models ADD COLUMN hotfix int;
SELECT revision, action, object_identity FROM migrate.object_changes WHERE revision IS NULL;
SELECT severity, problem FROM migrate.validate() WHERE problem LIKE '%outside any revision';
SELECT created_by, last_changed_by FROM migrate.objects WHERE object_identity = 'reg.models.hotfix';
SET pg_migrate.drift = error;
ALTER TABLE reg.models ADD COLUMN another int;
CREATE TABLE public.scratch (id int);
DROP TABLE public.scratch;
SET pg_migrate.drift = off;
ALTER TABLE reg.models DROP COLUMN hotfix;
SELECT count(*) AS drift_rows FROM migrate.object_changes WHERE revision IS NULL;
RESET pg_migrate.drift;

-- Unknown objects.
SELECT * FROM migrate.lineage('reg.nosuch');

SELECT count(*) FROM migrate.downgrade('base');
DROP SCHEMA reg;
DROP EXTENSION pg_migrate;
