-- Registering revisions: migrate.revision() and migrate.merge().
CREATE EXTENSION pg_migrate;

-- A new base, then revisions whose omitted down_revision is the single head.
SELECT migrate.revision(id => 'models', down_revision => '{}',
    upgrade => $$CREATE TABLE models (id bigint PRIMARY KEY, name text NOT NULL)$$,
    downgrade => $$DROP TABLE models$$,
    message => 'create models');
SELECT migrate.revision(id => 'versions',
    upgrade => $$CREATE TABLE model_versions (model_id bigint REFERENCES models, version int)$$,
    downgrade => $$DROP TABLE model_versions$$,
    message => 'create model_versions');
SELECT id, down_revision, depends_on, branch_labels, message, transactional,
       length(checksum) AS checksum_len, seq, registered_by = current_user AS by_me
FROM migrate.revisions ORDER BY seq;

-- Registering identical content again changes nothing: no new event, the
-- row is not rewritten.  Revision files can run on every deploy.
SELECT xmin AS row_xmin FROM migrate.revisions WHERE id = 'versions' \gset
SELECT count(*) AS events_before FROM migrate.events \gset
SELECT migrate.revision(id => 'versions',
    upgrade => $$CREATE TABLE model_versions (model_id bigint REFERENCES models, version int)$$,
    downgrade => $$DROP TABLE model_versions$$,
    message => 'create model_versions');
SELECT xmin = :'row_xmin' AS row_untouched,
       (SELECT count(*) FROM migrate.events) = :events_before AS no_new_event
FROM migrate.revisions WHERE id = 'versions';

-- The checksum ignores line endings, trailing blanks and surrounding blank
-- lines: a file checked out with CRLF endings is the same revision.
SELECT migrate.revision(id => 'versions',
    upgrade => E'\r\nCREATE TABLE model_versions (model_id bigint REFERENCES models, version int)   \r\n\r\n',
    downgrade => E'DROP TABLE model_versions\t',
    message => 'create model_versions');
SELECT (SELECT count(*) FROM migrate.events) = :events_before AS still_no_new_event;

-- Omitting down_revision for a registered id keeps its parents, so a file
-- without down_revision is also a no-op when run again later.
SELECT migrate.revision(id => 'features', upgrade => 'CREATE TABLE features (id int)',
    message => 'create features');
SELECT migrate.revision(id => 'versions',
    upgrade => $$CREATE TABLE model_versions (model_id bigint REFERENCES models, version int)$$,
    downgrade => $$DROP TABLE model_versions$$,
    message => 'create model_versions');
SELECT id, down_revision FROM migrate.revisions ORDER BY seq;

-- Without an id, the id is generated from the content (12 hex digits), so
-- running the same call again finds the same revision.
SELECT migrate.revision(upgrade => 'CREATE INDEX ON features (id)',
    downgrade => 'DROP INDEX features_id_idx', message => 'index features') AS generated \gset
SELECT :'generated' ~ '^[0-9a-f]{12}$' AS twelve_hex;
SELECT migrate.revision(upgrade => 'CREATE INDEX ON features (id)',
    downgrade => 'DROP INDEX features_id_idx', message => 'index features') = :'generated' AS same_id;
SELECT count(*) AS revisions FROM migrate.revisions;

-- Changed content replaces a revision that is not applied, keeping its
-- place in registration order.
SELECT checksum AS old_checksum, seq AS old_seq FROM migrate.revisions WHERE id = 'features' \gset
SELECT migrate.revision(id => 'features',
    upgrade => 'CREATE TABLE features (id int PRIMARY KEY, name text)',
    down_revision => '{versions}', message => 'create features');
SELECT checksum <> :'old_checksum' AS checksum_changed, seq = :old_seq AS same_seq, upgrade
FROM migrate.revisions WHERE id = 'features';

-- Changed content of an applied revision is refused.
SELECT count(*) FROM migrate.stamp('versions');
SELECT migrate.revision(id => 'versions', upgrade => 'CREATE TABLE model_versions (id int)');
SELECT upgrade FROM migrate.revisions WHERE id = 'versions';

-- Registration order does not have to follow the graph: a child may come
-- before its parent.  Until the parent exists the graph cannot be used.
SELECT migrate.revision(id => 'datasets_idx', down_revision => '{datasets}',
    upgrade => 'CREATE INDEX ON datasets (name)');
SELECT revision FROM migrate.heads();
SELECT migrate.revision(id => 'datasets', down_revision => '{models}',
    upgrade => 'CREATE TABLE datasets (name text)', branch_labels => '{data}');
SELECT revision, branch_labels FROM migrate.heads();

-- migrate.merge() joins the heads (all of them by default) with a revision
-- that runs nothing.
SELECT migrate.merge(message => 'merge datasets and registry') AS merge_id \gset
SELECT :'merge_id' ~ '^[0-9a-f]{12}$' AS generated_id;
SELECT down_revision, upgrade, downgrade, message FROM migrate.revisions WHERE id = :'merge_id';
SELECT revision = :'merge_id' AS merged, is_merge FROM migrate.heads();
SELECT migrate.merge(ARRAY[:'generated', 'datasets_idx'], message => 'merge datasets and registry') = :'merge_id' AS same_merge;
SELECT migrate.revision(id => 'after_merge', upgrade => 'SELECT 1');
SELECT migrate.merge(ARRAY['models', 'features'], id => 'nonsense');

-- Large content is fine: a 1 MB upgrade and a 100 kB message.
SELECT length(migrate.revision(id => 'big', down_revision => '{after_merge}',
    upgrade => 'SELECT 1;' || repeat(E'\n-- padding', 100000),
    message => repeat('m', 100000))) AS id_len;
SELECT length(upgrade) AS upgrade_len, length(message) AS message_len FROM migrate.revisions WHERE id = 'big';

-- Every registration is in the audit log, with who did it.
SELECT kind, revision, detail, session_user_name = session_user AS session_ok,
       current_user_name = current_user AS user_ok, application_name,
       backend_pid = pg_backend_pid() AS pid_ok, transaction_id IS NOT NULL AS has_xid
FROM migrate.events ORDER BY id;

-- The log is append-only.
UPDATE migrate.events SET detail = 'tampered';
DELETE FROM migrate.events;
SELECT count(*) > 0 AS log_intact FROM migrate.events;

DROP EXTENSION pg_migrate;
