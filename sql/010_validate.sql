-- Integrity: migrate.validate() and migrate.repair().
CREATE EXTENSION pg_migrate;
SET pg_migrate.quiet = on;

SELECT migrate.revision(id => 'v1', down_revision => '{}', upgrade => 'CREATE TABLE v1 (id int)', downgrade => 'DROP TABLE v1');
SELECT migrate.revision(id => 'v2', upgrade => 'CREATE TABLE v2 (id int)', downgrade => 'DROP TABLE v2');
SELECT migrate.revision(id => 'v3', upgrade => 'CREATE TABLE v3 (id int)', message => 'no way back');
SELECT count(*) FROM migrate.upgrade('heads');

-- A healthy database: only the notice about the irreversible revision.
SELECT * FROM migrate.validate();

-- Someone edits an applied revision behind pg_migrate's back (the owner can
-- write the table directly); its registered checksum no longer matches the
-- one that ran.
UPDATE migrate.revisions SET upgrade = 'CREATE TABLE v2 (id bigint)',
    checksum = repeat('0', 64) WHERE id = 'v2';
SELECT severity, revision, problem FROM migrate.validate();
SELECT detail FROM migrate.validate() WHERE revision = 'v2';

-- Accepting the new checksum needs a reason, which is logged.
SELECT * FROM migrate.repair('v2');
SELECT * FROM migrate.repair('v2', reason => 'widened id on purpose; reviewed');
SELECT severity, revision, problem FROM migrate.validate();
SELECT kind, revision, detail FROM migrate.events WHERE kind = 'repair';
SELECT * FROM migrate.repair(reason => 'nothing left');
SELECT * FROM migrate.repair('nosuch', reason => 'typo');

-- Applied but not registered, and an applied revision whose parent is not.
INSERT INTO migrate.applied (revision, applied_at, applied_by) VALUES ('ghost', now(), current_user);
DELETE FROM migrate.applied WHERE revision = 'v1';
SELECT severity, revision, problem FROM migrate.validate();
DELETE FROM migrate.applied WHERE revision = 'ghost';
SELECT count(*) FROM migrate.stamp('v3');

-- Graph problems and several heads.
SELECT migrate.revision(id => 'w1', down_revision => '{v1}', upgrade => '', downgrade => '');
SELECT severity, revision, problem, detail FROM migrate.validate() WHERE severity <> 'notice';
SELECT migrate.revision(id => 'w2', down_revision => '{w0}', upgrade => '', downgrade => '');
SELECT severity, revision, problem FROM migrate.validate() WHERE severity <> 'notice';

DELETE FROM migrate.revisions WHERE id = 'w2';
SELECT count(*) FROM migrate.stamp('base');
DROP TABLE v1, v2, v3;
DROP EXTENSION pg_migrate;
