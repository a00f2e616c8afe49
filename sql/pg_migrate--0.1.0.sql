/* pg_migrate--0.1.0.sql: install script of the pg_migrate extension */

\echo Use "CREATE EXTENSION pg_migrate" to load this file. \quit

/*
 * The control file installs into pg_catalog; the script owns the schema
 * "migrate" itself, so installation fails when a schema of that name
 * already exists (someone else's schema is never adopted) and DROP
 * EXTENSION removes it.  Every name below is schema-qualified.
 */
CREATE SCHEMA migrate;
REVOKE ALL ON SCHEMA migrate FROM PUBLIC;
GRANT USAGE ON SCHEMA migrate TO PUBLIC;
COMMENT ON SCHEMA migrate IS 'pg_migrate: schema migrations managed inside PostgreSQL';

/* ------------------------------------------------------------------------
 * Catalog tables
 * ------------------------------------------------------------------------ */

CREATE TABLE migrate.revisions (
	id				text		PRIMARY KEY,
	down_revision	text[]		NOT NULL DEFAULT '{}',
	depends_on		text[]		NOT NULL DEFAULT '{}',
	branch_labels	text[]		NOT NULL DEFAULT '{}',
	message			text,
	upgrade			text		NOT NULL,
	downgrade		text,
	verify			text,
	transactional	boolean		NOT NULL DEFAULT true,
	checksum		text		NOT NULL,
	seq				bigint		NOT NULL UNIQUE,
	registered_at	timestamptz NOT NULL,
	registered_by	name		NOT NULL
);
COMMENT ON TABLE migrate.revisions IS 'Registered revisions: the versions directory inside the database.  Written only through migrate.revision() and migrate.merge().';
COMMENT ON COLUMN migrate.revisions.id IS 'Revision id: [A-Za-z0-9_]{1,64}; generated ids are 12 lowercase hex digits.';
COMMENT ON COLUMN migrate.revisions.down_revision IS 'Parent revisions: empty for a base, two or more for a merge.';
COMMENT ON COLUMN migrate.revisions.depends_on IS 'Revisions (ids or branch labels) that must be applied first, without being parents.';
COMMENT ON COLUMN migrate.revisions.branch_labels IS 'Branch labels declared by this revision (targets such as label@head).';
COMMENT ON COLUMN migrate.revisions.message IS 'Human-readable description of the revision.';
COMMENT ON COLUMN migrate.revisions.upgrade IS 'SQL that applies the revision.';
COMMENT ON COLUMN migrate.revisions.downgrade IS 'SQL that reverts the revision; NULL means irreversible.';
COMMENT ON COLUMN migrate.revisions.verify IS 'Optional SQL run after the upgrade to check it.';
COMMENT ON COLUMN migrate.revisions.transactional IS 'false for revisions whose statements cannot run inside a transaction block (run by migrate.deploy()).';
COMMENT ON COLUMN migrate.revisions.checksum IS 'SHA-256 (hex) of the normalized content: id, parents, dependencies, labels, message, upgrade, downgrade, verify, transactional.';
COMMENT ON COLUMN migrate.revisions.seq IS 'Registration order; breaks ties between independent revisions in every plan.';
COMMENT ON COLUMN migrate.revisions.registered_at IS 'When the current content was registered.';
COMMENT ON COLUMN migrate.revisions.registered_by IS 'Role that registered the current content.';

CREATE SEQUENCE migrate.revisions_seq;
COMMENT ON SEQUENCE migrate.revisions_seq IS 'Registration order of migrate.revisions.';

CREATE TABLE migrate.applied (
	revision	text		PRIMARY KEY,
	applied_at	timestamptz NOT NULL,
	applied_by	name		NOT NULL,
	checksum	text,
	event_id	bigint
);
COMMENT ON TABLE migrate.applied IS 'Every applied revision (not only the heads); closed under ancestry.';
COMMENT ON COLUMN migrate.applied.revision IS 'Applied revision id.';
COMMENT ON COLUMN migrate.applied.applied_at IS 'When the revision was applied or stamped.';
COMMENT ON COLUMN migrate.applied.applied_by IS 'Role that applied or stamped it.';
COMMENT ON COLUMN migrate.applied.checksum IS 'Checksum of the content that ran (or was stamped).';
COMMENT ON COLUMN migrate.applied.event_id IS 'The migrate.events row that recorded it.';

CREATE TABLE migrate.events (
	id					bigserial	PRIMARY KEY,
	occurred_at			timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	kind				text		NOT NULL,
	revision			text,
	target				text,
	detail				text,
	checksum			text,
	duration			interval,
	session_user_name	name		NOT NULL,
	current_user_name	name		NOT NULL,
	application_name	text,
	client_addr			inet,
	backend_pid			integer		NOT NULL,
	transaction_id		xid8,
	CONSTRAINT events_kind_check CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['register', 'replace', 'merge', 'stamp', 'upgrade', 'downgrade', 'failure', 'repair']::text[]))
);
COMMENT ON TABLE migrate.events IS 'Append-only audit log of every register, stamp, upgrade, downgrade, repair and failure.';
COMMENT ON COLUMN migrate.events.id IS 'Event number, increasing.';
COMMENT ON SEQUENCE migrate.events_id_seq IS 'Numbers of migrate.events.';
COMMENT ON COLUMN migrate.events.occurred_at IS 'Wall-clock time of the event.';
COMMENT ON COLUMN migrate.events.kind IS 'register, replace, merge, stamp, upgrade, downgrade, failure or repair.';
COMMENT ON COLUMN migrate.events.revision IS 'Revision the event is about, if any.';
COMMENT ON COLUMN migrate.events.target IS 'Target the user asked for, if any.';
COMMENT ON COLUMN migrate.events.detail IS 'What happened, in words.';
COMMENT ON COLUMN migrate.events.checksum IS 'Checksum of the revision content involved.';
COMMENT ON COLUMN migrate.events.duration IS 'How long the step took, if it ran SQL.';
COMMENT ON COLUMN migrate.events.session_user_name IS 'session_user of the connection.';
COMMENT ON COLUMN migrate.events.current_user_name IS 'current_user when the call was made.';
COMMENT ON COLUMN migrate.events.application_name IS 'application_name of the connection.';
COMMENT ON COLUMN migrate.events.client_addr IS 'Client address (NULL for a Unix-socket connection).';
COMMENT ON COLUMN migrate.events.backend_pid IS 'Backend process id of the connection.';
COMMENT ON COLUMN migrate.events.transaction_id IS 'Top-level transaction id of the call.';

/*
 * One row whose version identifies the state of revisions and applied: every
 * write bumps it, and each backend keeps its graph cache only while the
 * (xmin, generation) of the row it sees is unchanged.
 */
CREATE TABLE migrate.catalog_version (
	generation	bigint NOT NULL,
	one_row		boolean NOT NULL DEFAULT true PRIMARY KEY CHECK (one_row)
);
INSERT INTO migrate.catalog_version (generation) VALUES (0);
COMMENT ON TABLE migrate.catalog_version IS 'Internal: bumped by every catalog write so that per-backend graph caches know when to reload.';

CREATE FUNCTION migrate.events_append_only()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'pgm_events_append_only';
COMMENT ON FUNCTION migrate.events_append_only() IS 'Trigger that keeps migrate.events append-only.';

CREATE TRIGGER events_append_only
	BEFORE UPDATE OR DELETE ON migrate.events
	FOR EACH ROW EXECUTE FUNCTION migrate.events_append_only();

CREATE FUNCTION migrate.catalog_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'pgm_catalog_changed';
COMMENT ON FUNCTION migrate.catalog_changed() IS 'Trigger that tells every backend to reload its graph cache after a change made with plain SQL.';

CREATE TRIGGER revisions_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON migrate.revisions
	FOR EACH STATEMENT EXECUTE FUNCTION migrate.catalog_changed();
CREATE TRIGGER applied_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON migrate.applied
	FOR EACH STATEMENT EXECUTE FUNCTION migrate.catalog_changed();

REVOKE ALL ON ALL TABLES IN SCHEMA migrate FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA migrate FROM PUBLIC;
GRANT SELECT ON migrate.revisions, migrate.applied, migrate.events, migrate.catalog_version TO PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('migrate.revisions', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.revisions_seq', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.applied', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.events', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.events_id_seq', '');

/* ------------------------------------------------------------------------
 * Registering
 * ------------------------------------------------------------------------ */

CREATE FUNCTION migrate.revision(
	id				text DEFAULT NULL,
	down_revision	text[] DEFAULT NULL,
	upgrade			text DEFAULT NULL,
	downgrade		text DEFAULT NULL,
	message			text DEFAULT NULL,
	branch_labels	text[] DEFAULT NULL,
	depends_on		text[] DEFAULT NULL,
	verify			text DEFAULT NULL,
	transactional	boolean DEFAULT true)
RETURNS text
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_revision';
COMMENT ON FUNCTION migrate.revision(text, text[], text, text, text, text[], text[], text, boolean) IS
'Register a revision; returns its id.  Call with named arguments.  upgrade is required; id NULL = generated; down_revision NULL = the single current head, ''{}'' = a new base.  Identical content again is a no-op; changed content replaces an unapplied revision and is refused for an applied one.';

CREATE FUNCTION migrate.merge(
	parents		text[] DEFAULT NULL,
	message		text DEFAULT NULL,
	id			text DEFAULT NULL)
RETURNS text
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_merge';
COMMENT ON FUNCTION migrate.merge(text[], text, text) IS
'Register a merge revision (empty upgrade and downgrade) whose parents are the given revisions, or all current heads when parents is NULL; returns its id.';

/* ------------------------------------------------------------------------
 * Inspecting
 * ------------------------------------------------------------------------ */

CREATE FUNCTION migrate.heads(
	OUT revision text, OUT message text, OUT branch_labels text[],
	OUT is_merge boolean, OUT applied boolean)
RETURNS SETOF record
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_heads';
COMMENT ON FUNCTION migrate.heads() IS
'Revisions with no child through down_revision (what "alembic heads" lists; depends_on is ignored here), in registration order.';

CREATE FUNCTION migrate.bases(
	OUT revision text, OUT message text, OUT branch_labels text[],
	OUT depends_on text[], OUT applied boolean)
RETURNS SETOF record
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_bases';
COMMENT ON FUNCTION migrate.bases() IS
'Revisions with no parent, in registration order.';

CREATE FUNCTION migrate.branches(
	OUT revision text, OUT message text, OUT branch_labels text[],
	OUT children text[])
RETURNS SETOF record
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_branches';
COMMENT ON FUNCTION migrate.branches() IS
'Branch points: revisions that are the parent of two or more revisions, with those children.';

CREATE FUNCTION migrate.current(
	OUT revision text, OUT message text, OUT branch_labels text[],
	OUT is_merge boolean, OUT applied_at timestamptz, OUT applied_by name)
RETURNS SETOF record
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_current';
COMMENT ON FUNCTION migrate.current() IS
'Applied revisions that no other applied revision implies (by parent or depends_on): the database''s current heads.';

CREATE FUNCTION migrate.history(
	range text DEFAULT NULL,
	OUT revision text, OUT down_revision text[], OUT depends_on text[],
	OUT branch_labels text[], OUT message text, OUT is_head boolean,
	OUT is_branch_point boolean, OUT is_merge boolean, OUT applied boolean,
	OUT applied_at timestamptz, OUT applied_by name,
	OUT registered_at timestamptz)
RETURNS SETOF record
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_history';
COMMENT ON FUNCTION migrate.history(text) IS
'Revisions newest first (children before parents).  range is A:B, :B or A: (A and B are targets; both ends included); NULL = everything.';

CREATE FUNCTION migrate.show(
	target text,
	OUT revision text, OUT down_revision text[], OUT depends_on text[],
	OUT branch_labels text[], OUT message text, OUT upgrade text,
	OUT downgrade text, OUT verify text, OUT transactional boolean,
	OUT checksum text, OUT children text[], OUT is_head boolean,
	OUT is_merge boolean, OUT is_branch_point boolean, OUT applied boolean,
	OUT applied_at timestamptz, OUT applied_by name,
	OUT registered_at timestamptz, OUT registered_by name)
RETURNS SETOF record
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_show';
COMMENT ON FUNCTION migrate.show(text) IS
'Everything known about the revisions a target names.';

CREATE FUNCTION migrate.resolve(
	target text,
	OUT revision text, OUT message text)
RETURNS SETOF record
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_resolve';
COMMENT ON FUNCTION migrate.resolve(text) IS
'The revisions a target names: head, heads, base, an id or unique prefix, label@head, label@base, rev@head, +N, -N, X+N, X-N, label@+N, label@-N.';

CREATE FUNCTION migrate.plan(
	target text,
	direction text DEFAULT 'upgrade',
	OUT step integer, OUT revision text, OUT operation text, OUT message text)
RETURNS SETOF record
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_plan';
COMMENT ON FUNCTION migrate.plan(text, text) IS
'What migrate.upgrade(target) (direction ''upgrade'') or migrate.downgrade(target) (direction ''downgrade'') would run from the current applied set, step by step, without running it.';

CREATE FUNCTION migrate.status(
	OUT current text[], OUT heads text[], OUT pending integer,
	OUT last_event text, OUT last_event_at timestamptz)
RETURNS record
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_status';
COMMENT ON FUNCTION migrate.status() IS
'One row: the current revisions, the heads, how many revisions upgrade(''heads'') would apply, and the last event.';

/* ------------------------------------------------------------------------
 * Bookkeeping
 * ------------------------------------------------------------------------ */

CREATE FUNCTION migrate.stamp(
	target text,
	purge boolean DEFAULT false,
	OUT revision text, OUT action text)
RETURNS SETOF record
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_stamp';
COMMENT ON FUNCTION migrate.stamp(text, boolean) IS
'Move the recorded state to target as upgrade or downgrade would, without running any SQL; purge => true first empties the applied set.  Returns the revisions marked applied or unapplied.';

CREATE FUNCTION migrate.stamp(
	targets text[],
	purge boolean DEFAULT false,
	OUT revision text, OUT action text)
RETURNS SETOF record
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_stamp_many';
COMMENT ON FUNCTION migrate.stamp(text[], boolean) IS
'Stamp several targets in turn; with purge => true the applied set becomes exactly those revisions and their ancestors.';

/* ------------------------------------------------------------------------
 * Running.  No SET search_path here: revision SQL runs with the caller's
 * settings; the C code qualifies every name it uses itself.
 * ------------------------------------------------------------------------ */

CREATE FUNCTION migrate.upgrade(
	target text DEFAULT 'heads',
	OUT step integer, OUT revision text, OUT operation text, OUT message text,
	OUT duration interval)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pgm_upgrade';
COMMENT ON FUNCTION migrate.upgrade(text) IS
'Apply every pending revision up to target (default: all heads) in the caller''s transaction, as migrate.plan(target) lists them; one row per revision run.  Concurrent callers queue on the migration lock; each revision runs exactly once.';

CREATE FUNCTION migrate.downgrade(
	target text,
	OUT step integer, OUT revision text, OUT operation text, OUT message text,
	OUT duration interval)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pgm_downgrade';
COMMENT ON FUNCTION migrate.downgrade(text) IS
'Unapply revisions down to target (kept applied) in the caller''s transaction, as migrate.plan(target, ''downgrade'') lists them; one row per revision run.';

/* ---- deploy (begin) ---- */

/*
 * CALL migrate.deploy(): a procedure that commits after each revision, so
 * it cannot carry SET search_path (revision SQL runs with the caller's
 * settings; the C code qualifies every name it uses itself).
 */
CREATE PROCEDURE migrate.deploy(target text DEFAULT 'heads')
LANGUAGE C
AS 'MODULE_PATHNAME', 'pgm_deploy';
COMMENT ON PROCEDURE migrate.deploy(text) IS
'Apply every pending revision up to target (default: all heads), each in a transaction of its own committed before the next; revisions registered with transactional => false run in a background worker.  A failure is recorded in migrate.events and leaves the earlier revisions applied; CALL it again to resume.  Call it outside a transaction block.';
REVOKE EXECUTE ON PROCEDURE migrate.deploy(text) FROM PUBLIC;

-- the SQLSTATE of a failure that CALL migrate.deploy() recorded
ALTER TABLE migrate.events ADD COLUMN sqlstate text;
COMMENT ON COLUMN migrate.events.sqlstate IS 'SQLSTATE of the error, for a failure.';

/* ---- deploy (end) ---- */

/* ------------------------------------------------------------------------
 * Offline SQL
 * ------------------------------------------------------------------------ */

CREATE FUNCTION migrate.upgrade_sql(
	target text DEFAULT 'heads',
	from_revision text DEFAULT NULL)
RETURNS text
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_upgrade_sql';
COMMENT ON FUNCTION migrate.upgrade_sql(text, text) IS
'The SQL script that upgrades to target (from the current state, or from from_revision and its ancestors): every revision''s SQL verbatim with the bookkeeping calls; review it, then run it with psql -1 -f.';

CREATE FUNCTION migrate.downgrade_sql(
	target text,
	from_revision text DEFAULT NULL)
RETURNS text
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_downgrade_sql';
COMMENT ON FUNCTION migrate.downgrade_sql(text, text) IS
'The SQL script that downgrades to target (from the current state, or from from_revision and its ancestors); run it with psql -1 -f.';

CREATE FUNCTION migrate.offline_begin(operation text, target text, expected text[])
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pgm_offline_begin';
COMMENT ON FUNCTION migrate.offline_begin(text, text, text[]) IS
'First statement of an offline script: takes the migration lock and checks that the current revisions are the expected ones.';

CREATE FUNCTION migrate.offline_verify(revision text, verify text)
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pgm_offline_verify';
COMMENT ON FUNCTION migrate.offline_verify(text, text) IS
'In an offline script: runs a revision''s verify SQL; false, a "not ok" line or an error fails the script.';

CREATE FUNCTION migrate.offline_record(operation text, revision text, checksum text)
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pgm_offline_record';
COMMENT ON FUNCTION migrate.offline_record(text, text, text) IS
'In an offline script: records one upgrade or downgrade step as migrate.upgrade() records it, after checking the revision is unchanged.';

/* ------------------------------------------------------------------------
 * Integrity
 * ------------------------------------------------------------------------ */

CREATE FUNCTION migrate.validate(
	OUT severity text, OUT revision text, OUT problem text, OUT detail text)
RETURNS SETOF record
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_validate';
COMMENT ON FUNCTION migrate.validate() IS
'Problems of the graph and the applied set, errors first: graph errors, applied revisions not registered, changed after they ran, recorded by no upgrade or stamp, or missing an ancestor; several heads (warning); irreversible revisions (notice).';

CREATE FUNCTION migrate.repair(
	revision text DEFAULT NULL,
	reason text DEFAULT NULL,
	OUT revision text, OUT old_checksum text, OUT new_checksum text)
RETURNS SETOF record
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_repair';
COMMENT ON FUNCTION migrate.repair(text, text) IS
'After review, accept the registered checksum of an applied revision whose content changed (or of all of them when revision is NULL); reason is required and is logged with each repair.';

/* ------------------------------------------------------------------------
 * Lineage
 * ------------------------------------------------------------------------ */

CREATE TABLE migrate.object_changes (
	id					bigserial	PRIMARY KEY,
	occurred_at			timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	revision			text,
	direction			text,
	command_tag			text		NOT NULL,
	action				text		NOT NULL,
	object_type			text		NOT NULL,
	schema_name			text,
	object_identity		text		COLLATE "C" NOT NULL,
	old_identity		text		COLLATE "C",
	session_user_name	text		NOT NULL,
	current_user_name	text		NOT NULL,
	transaction_id		xid8
);
CREATE INDEX object_changes_identity ON migrate.object_changes (object_identity);
COMMENT ON TABLE migrate.object_changes IS 'Every object a revision created, altered, renamed or dropped (columns included), and DDL on managed schemas made outside any revision (drift: revision NULL).';
COMMENT ON COLUMN migrate.object_changes.id IS 'Change number, increasing.';
COMMENT ON COLUMN migrate.object_changes.occurred_at IS 'When the DDL ran.';
COMMENT ON COLUMN migrate.object_changes.revision IS 'Revision whose SQL made the change; NULL for drift.';
COMMENT ON COLUMN migrate.object_changes.direction IS 'upgrade or downgrade; NULL for drift.';
COMMENT ON COLUMN migrate.object_changes.command_tag IS 'The DDL command, e.g. ALTER TABLE.';
COMMENT ON COLUMN migrate.object_changes.action IS 'create, alter, rename or drop.';
COMMENT ON COLUMN migrate.object_changes.object_type IS 'Object type as pg_identify_object gives it (table, table column, index ...).';
COMMENT ON COLUMN migrate.object_changes.schema_name IS 'Schema of the object.';
COMMENT ON COLUMN migrate.object_changes.object_identity IS 'Identity as pg_identify_object gives it, e.g. public.models.stage.';
COMMENT ON COLUMN migrate.object_changes.old_identity IS 'For a rename: the identity before it.';
COMMENT ON COLUMN migrate.object_changes.session_user_name IS 'session_user of the connection.';
COMMENT ON COLUMN migrate.object_changes.current_user_name IS 'current_user that ran the DDL.';
COMMENT ON COLUMN migrate.object_changes.transaction_id IS 'Top-level transaction id.';

CREATE TABLE migrate.managed_schemas (
	schema_name text PRIMARY KEY
);
COMMENT ON TABLE migrate.managed_schemas IS 'Schemas a revision touched: DDL on them outside any revision is drift.';
COMMENT ON COLUMN migrate.managed_schemas.schema_name IS 'Schema name.';

CREATE FUNCTION migrate.on_ddl_command_end()
RETURNS event_trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'pgm_ddl_command_end';
COMMENT ON FUNCTION migrate.on_ddl_command_end() IS 'Event trigger: records the objects a running revision creates or alters, and drift.';

CREATE FUNCTION migrate.on_sql_drop()
RETURNS event_trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'pgm_sql_drop';
COMMENT ON FUNCTION migrate.on_sql_drop() IS 'Event trigger: records the objects a running revision drops, and drift.';

CREATE EVENT TRIGGER pg_migrate_ddl_command_end ON ddl_command_end
	EXECUTE FUNCTION migrate.on_ddl_command_end();
CREATE EVENT TRIGGER pg_migrate_sql_drop ON sql_drop
	EXECUTE FUNCTION migrate.on_sql_drop();

CREATE FUNCTION migrate.lineage(
	object text,
	OUT revision text, OUT message text, OUT direction text, OUT action text,
	OUT command text, OUT object_identity text, OUT applied_at timestamptz,
	OUT applied_by name)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	found_any boolean := false;
BEGIN
	FOR revision, message, direction, action, command, object_identity, applied_at, applied_by IN
		WITH RECURSIVE names(name, depth) AS (
			SELECT DISTINCT c.object_identity, 0
			FROM migrate.object_changes c
			WHERE c.object_identity OPERATOR(pg_catalog.=) lineage.object
			   OR c.object_identity OPERATOR(pg_catalog.=) ('public.' OPERATOR(pg_catalog.||) lineage.object)
			   OR c.object_identity OPERATOR(pg_catalog.~~) (pg_catalog.replace(lineage.object, '_', '\_') OPERATOR(pg_catalog.||) '(%')
			UNION
			SELECT c.old_identity, n.depth OPERATOR(pg_catalog.+) 1
			FROM names n JOIN migrate.object_changes c
			  ON c.object_identity OPERATOR(pg_catalog.=) n.name AND c.action OPERATOR(pg_catalog.=) 'rename'
			WHERE c.old_identity IS NOT NULL AND n.depth OPERATOR(pg_catalog.<) 50
		)
		SELECT c.revision, r.message, c.direction, c.action, c.command_tag, c.object_identity,
		       c.occurred_at, c.current_user_name
		FROM migrate.object_changes c
		LEFT JOIN migrate.revisions r ON r.id OPERATOR(pg_catalog.=) c.revision
		WHERE c.object_identity IN (SELECT n.name FROM names n)
		ORDER BY c.id
	LOOP
		found_any := true;
		RETURN NEXT;
	END LOOP;
	IF NOT found_any THEN
		RAISE EXCEPTION 'no lineage recorded for "%"', object
			USING ERRCODE = 'undefined_object',
			      HINT = 'Lineage covers objects revisions created or changed, and drift on managed schemas; name them schema-qualified, as public.models, public.models.stage or public.my_function.';
	END IF;
END
$fn$;
COMMENT ON FUNCTION migrate.lineage(text) IS
'History of one object, oldest first: which revision created, changed, renamed or dropped it, when and by whom.  Accepts schema.table, schema.table.column, an index, or a function name; follows renames.';

CREATE VIEW migrate.objects AS
WITH RECURSIVE latest AS (
	SELECT DISTINCT ON (c.object_identity) c.id, c.object_identity, c.object_type,
		   c.schema_name, c.action, c.revision, c.occurred_at
	FROM migrate.object_changes c
	ORDER BY c.object_identity, c.id DESC
), live AS (
	SELECT * FROM latest l
	WHERE l.action OPERATOR(pg_catalog.<>) 'drop'
	  AND NOT EXISTS (SELECT 1 FROM migrate.object_changes r
					  WHERE r.action OPERATOR(pg_catalog.=) 'rename'
						AND r.old_identity OPERATOR(pg_catalog.=) l.object_identity
						AND r.id OPERATOR(pg_catalog.>) l.id)
), chain(current_identity, name, depth) AS (
	SELECT l.object_identity, l.object_identity, 0 FROM live l
	UNION
	SELECT ch.current_identity, c.old_identity, ch.depth OPERATOR(pg_catalog.+) 1
	FROM chain ch JOIN migrate.object_changes c
	  ON c.object_identity OPERATOR(pg_catalog.=) ch.name AND c.action OPERATOR(pg_catalog.=) 'rename'
	WHERE c.old_identity IS NOT NULL AND ch.depth OPERATOR(pg_catalog.<) 50
)
SELECT l.object_type, l.schema_name, l.object_identity,
	   (SELECT c.revision FROM migrate.object_changes c
		JOIN chain ch ON ch.name OPERATOR(pg_catalog.=) c.object_identity
					 AND ch.current_identity OPERATOR(pg_catalog.=) l.object_identity
		WHERE c.action OPERATOR(pg_catalog.=) 'create'
		ORDER BY c.id DESC LIMIT 1) AS created_by,
	   l.revision AS last_changed_by,
	   l.occurred_at AS last_changed_at
FROM live l;
COMMENT ON VIEW migrate.objects IS 'Every live object pg_migrate recorded, with the revision that created it and the last one that changed it (NULL: drift).';

/* ------------------------------------------------------------------------
 * Privileges.  The write functions write the catalog as the extension
 * owner, so only roles granted EXECUTE may call them; reading is open.
 * ------------------------------------------------------------------------ */
REVOKE EXECUTE ON FUNCTION migrate.revision(text, text[], text, text, text, text[], text[], text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.merge(text[], text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.stamp(text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.stamp(text[], boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.upgrade(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.repair(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.offline_begin(text, text, text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.offline_verify(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.offline_record(text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.downgrade(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.catalog_changed() FROM PUBLIC;
REVOKE ALL ON migrate.object_changes, migrate.managed_schemas FROM PUBLIC;
REVOKE ALL ON SEQUENCE migrate.object_changes_id_seq FROM PUBLIC;
GRANT SELECT ON migrate.object_changes, migrate.managed_schemas, migrate.objects TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('migrate.object_changes', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.object_changes_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.managed_schemas', '');
REVOKE EXECUTE ON FUNCTION migrate.events_append_only() FROM PUBLIC;

/* ---- backfill (begin) ---- */

/*
 * Progress of CALL migrate.backfill(): one row per distinct call (relation,
 * set_clause, where_clause), updated in the transaction of every batch.
 */
CREATE TABLE migrate.backfills (
	id				bigserial	PRIMARY KEY,
	relation_oid	oid			NOT NULL,
	relation_name	text		NOT NULL,
	set_clause		text		NOT NULL,
	where_clause	text,
	key_columns		text[]		NOT NULL,
	last_key		text[],
	rows_scanned	bigint		NOT NULL DEFAULT 0,
	rows_updated	bigint		NOT NULL DEFAULT 0,
	batches			bigint		NOT NULL DEFAULT 0,
	estimated_rows	bigint,
	started_at		timestamptz NOT NULL,
	updated_at		timestamptz NOT NULL,
	finished_at		timestamptz,
	started_by		name		NOT NULL,
	updated_by		name		NOT NULL
);
/* the clauses may be long: the uniqueness of a call goes through md5() */
CREATE UNIQUE INDEX backfills_call_key ON migrate.backfills
	(relation_oid, pg_catalog.md5(set_clause), pg_catalog.md5(where_clause)) NULLS NOT DISTINCT;
COMMENT ON TABLE migrate.backfills IS 'Progress of every CALL migrate.backfill(): one row per relation, set_clause and where_clause, written in the transaction of each batch.  Written only through migrate.backfill() and migrate.backfill_reset().';
COMMENT ON SEQUENCE migrate.backfills_id_seq IS 'Numbers of migrate.backfills.';
COMMENT ON COLUMN migrate.backfills.id IS 'Backfill number.';
COMMENT ON COLUMN migrate.backfills.relation_oid IS 'OID of the table; with set_clause and where_clause it identifies the call that resumes.';
COMMENT ON COLUMN migrate.backfills.relation_name IS 'Schema-qualified name of the table when the backfill started.';
COMMENT ON COLUMN migrate.backfills.set_clause IS 'The assignments, exactly as passed.';
COMMENT ON COLUMN migrate.backfills.where_clause IS 'The condition, exactly as passed; NULL for every row.';
COMMENT ON COLUMN migrate.backfills.key_columns IS 'Columns of the key the table is walked by (the primary key, or a unique index on NOT NULL columns).';
COMMENT ON COLUMN migrate.backfills.last_key IS 'Text of each key column of the last key done; NULL before the first batch.  The next batch starts after it.';
COMMENT ON COLUMN migrate.backfills.rows_scanned IS 'Keys walked so far (rows of the table in the finished windows).';
COMMENT ON COLUMN migrate.backfills.rows_updated IS 'Rows updated so far (those of the walked keys that satisfied where_clause).';
COMMENT ON COLUMN migrate.backfills.batches IS 'Batches committed so far.';
COMMENT ON COLUMN migrate.backfills.estimated_rows IS 'The planner''s estimate of the table''s rows when the backfill started: the total of the progress messages.';
COMMENT ON COLUMN migrate.backfills.started_at IS 'When the first call started.';
COMMENT ON COLUMN migrate.backfills.updated_at IS 'When the last batch committed.';
COMMENT ON COLUMN migrate.backfills.finished_at IS 'When the last key was done; NULL while unfinished.  A finished backfill is not run again until migrate.backfill_reset().';
COMMENT ON COLUMN migrate.backfills.started_by IS 'Role that made the first call.';
COMMENT ON COLUMN migrate.backfills.updated_by IS 'Role that ran the last batch.';

REVOKE ALL ON migrate.backfills FROM PUBLIC;
REVOKE ALL ON SEQUENCE migrate.backfills_id_seq FROM PUBLIC;
GRANT SELECT ON migrate.backfills TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('migrate.backfills', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.backfills_id_seq', '');

/*
 * A procedure that commits: it cannot carry SET search_path, so the C code
 * qualifies every name it writes itself; set_clause and where_clause run
 * with the caller's settings and rights.
 */
CREATE PROCEDURE migrate.backfill(
	relation		regclass,
	set_clause		text,
	where_clause	text DEFAULT NULL,
	batch_size		integer DEFAULT 10000,
	pause			interval DEFAULT '0')
LANGUAGE C
AS 'MODULE_PATHNAME', 'pgm_backfill';
COMMENT ON PROCEDURE migrate.backfill(regclass, text, text, integer, interval) IS
'UPDATE relation SET set_clause [WHERE where_clause] in batches of batch_size keys, walked in key order (primary key, or a unique index on NOT NULL columns), committing after each batch and sleeping pause between batches.  The same call again resumes after the last committed batch; a finished one does nothing (see migrate.backfill_reset()).  Progress in migrate.backfills.  CALL it outside a transaction block.';

CREATE FUNCTION migrate.backfill_reset(
	relation		regclass,
	set_clause		text,
	where_clause	text DEFAULT NULL)
RETURNS boolean
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_backfill_reset';
COMMENT ON FUNCTION migrate.backfill_reset(regclass, text, text) IS
'Forget the progress of the backfill with this relation, set_clause and where_clause (finished or not), so that the next identical CALL migrate.backfill() starts from the first key.  Returns false when there was none.  Needs UPDATE on the table.';

REVOKE EXECUTE ON PROCEDURE migrate.backfill(regclass, text, text, integer, interval) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.backfill_reset(regclass, text, text) FROM PUBLIC;

/* ---- backfill (end) ---- */

/* ---- fingerprint and round trip (begin) ---- */

CREATE FUNCTION migrate.fingerprint(schemas text[] DEFAULT NULL)
RETURNS text
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_fingerprint';
COMMENT ON FUNCTION migrate.fingerprint(text[]) IS
'Hex SHA-256 of the catalog definition of the schemas (NULL: every schema except the system schemas and migrate), exactly the lines migrate.describe(schemas) returns.  Independent of owners, privileges, OIDs, column positions and creation order; schema names count.';

CREATE FUNCTION migrate.describe(
	schemas text[] DEFAULT NULL,
	OUT kind text, OUT object text, OUT definition text)
RETURNS SETOF record
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_describe';
COMMENT ON FUNCTION migrate.describe(text[]) IS
'The normalized catalog definition of the schemas (NULL: every schema except the system schemas and migrate), one sorted row per schema, extension, table, view, column, constraint, index, sequence, function, type, trigger, rule, policy and comment: what migrate.fingerprint() hashes, for diffing two databases.';

CREATE FUNCTION migrate.check_roundtrip(
	target text DEFAULT 'heads',
	OUT revision text, OUT ok boolean, OUT problem text)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pgm_check_roundtrip';
COMMENT ON FUNCTION migrate.check_roundtrip(text) IS
'For each pending revision up to target, in plan order: upgrade, downgrade it alone (the fingerprint must be the one before), upgrade again (the fingerprint must be the one after the first upgrade).  ok is false with the problem, or NULL when the revision could not be checked.  Everything is rolled back.';

/*
 * pgTAP helpers.  pgTAP is optional: these functions reach ok(), is(),
 * diag() and skip() with EXECUTE, through the caller's search_path (where
 * pgTAP's plan() was found, and where pgTAP's functions find each other),
 * so they pin no search_path and qualify every other name.
 */
CREATE FUNCTION migrate.tap_single_head()
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
	heads	text[];
	n		integer;
	line	text;
BEGIN
	IF pg_catalog.to_regprocedure('ok(boolean, text)') IS NULL THEN
		RAISE EXCEPTION 'pgTAP is not installed, or not in the search_path'
			USING ERRCODE = 'undefined_function',
				  DETAIL = 'migrate.tap_single_head() reports through pgTAP''s ok(), is() and diag().',
				  HINT = 'Run CREATE EXTENSION pgtap, or add the schema holding pgTAP to search_path.';
	END IF;
	SELECT pg_catalog.array_agg(h.revision) INTO heads FROM migrate.heads() h;
	n := COALESCE(pg_catalog.cardinality(heads), 0);
	EXECUTE 'SELECT is($1, $2, $3)' INTO line
		USING n, 1, 'pg_migrate: the revision graph has a single head'::text;
	RETURN NEXT line;
	IF n OPERATOR(pg_catalog.=) 0 THEN
		EXECUTE 'SELECT diag($1)' INTO line USING 'No revision is registered.'::text;
		RETURN NEXT line;
	ELSIF n OPERATOR(pg_catalog.>) 1 THEN
		EXECUTE 'SELECT diag($1)' INTO line
			USING pg_catalog.format('Heads: %s.  Join them with migrate.merge().',
								   pg_catalog.array_to_string(heads, ', '));
		RETURN NEXT line;
	END IF;
END
$fn$;
COMMENT ON FUNCTION migrate.tap_single_head() IS
'pgTAP: one test, passing when the revision graph has exactly one head (the heads are listed otherwise).  Needs pgTAP.';

CREATE FUNCTION migrate.tap_roundtrip(target text DEFAULT 'heads')
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
	r			record;
	failed		text[] := '{}';
	unchecked	text[] := '{}';
	n			integer := 0;
	msg			text;
	line		text;
BEGIN
	IF pg_catalog.to_regprocedure('ok(boolean, text)') IS NULL THEN
		RAISE EXCEPTION 'pgTAP is not installed, or not in the search_path'
			USING ERRCODE = 'undefined_function',
				  DETAIL = 'migrate.tap_roundtrip() reports through pgTAP''s ok(), diag() and skip().',
				  HINT = 'Run CREATE EXTENSION pgtap, or add the schema holding pgTAP to search_path.';
	END IF;
	FOR r IN SELECT c.revision, c.ok, c.problem FROM migrate.check_roundtrip(target) c LOOP
		n := n OPERATOR(pg_catalog.+) 1;
		IF r.ok IS NULL THEN
			unchecked := unchecked OPERATOR(pg_catalog.||)
				pg_catalog.format('%s: %s', r.revision, r.problem);
		ELSIF NOT r.ok THEN
			failed := failed OPERATOR(pg_catalog.||)
				pg_catalog.format('%s: %s', r.revision, r.problem);
		END IF;
	END LOOP;
	IF n OPERATOR(pg_catalog.=) 0 THEN
		EXECUTE 'SELECT skip($1, 1)' INTO line
			USING pg_catalog.format('pg_migrate: no revision is pending up to "%s"', target);
		RETURN NEXT line;
		RETURN;
	END IF;
	EXECUTE 'SELECT ok($1, $2)' INTO line
		USING pg_catalog.cardinality(failed) OPERATOR(pg_catalog.=) 0,
			  pg_catalog.format('pg_migrate: every pending revision up to "%s" survives upgrade, downgrade and upgrade again', target);
	RETURN NEXT line;
	FOREACH msg IN ARRAY failed LOOP
		EXECUTE 'SELECT diag($1)' INTO line USING msg;
		RETURN NEXT line;
	END LOOP;
	FOREACH msg IN ARRAY unchecked LOOP
		EXECUTE 'SELECT diag($1)' INTO line USING msg;
		RETURN NEXT line;
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION migrate.tap_roundtrip(text) IS
'pgTAP: one test, passing when migrate.check_roundtrip(target) finds no problem (each problem, and each revision it could not check, follows as a diagnostic); a skipped test when nothing is pending.  Leaves the database as it was.  Needs pgTAP.';

CREATE FUNCTION migrate.tap_up_down_up()
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
	at_base		boolean;
	phase		text := 'upgrade to heads';
	start_lines	text[];
	up_lines	text[];
	base_lines	text[];
	again_lines	text[];
	problems	text[] := '{}';
	diff		text;
	msg			text;
	line		text;
BEGIN
	IF pg_catalog.to_regprocedure('ok(boolean, text)') IS NULL THEN
		RAISE EXCEPTION 'pgTAP is not installed, or not in the search_path'
			USING ERRCODE = 'undefined_function',
				  DETAIL = 'migrate.tap_up_down_up() reports through pgTAP''s ok() and diag().',
				  HINT = 'Run CREATE EXTENSION pgtap, or add the schema holding pgTAP to search_path.';
	END IF;
	at_base := NOT EXISTS (SELECT 1 FROM migrate.applied);
	/* everything in this block is rolled back: it always ends with an exception */
	BEGIN
		PERFORM pg_catalog.set_config('pg_migrate.quiet', 'on', true);
		SELECT pg_catalog.array_agg(x.l ORDER BY x.l COLLATE "C") INTO start_lines
			FROM (SELECT pg_catalog.concat_ws(' ', d.kind, d.object, d.definition) FROM migrate.describe() d) x(l);
		PERFORM pg_catalog.count(*) FROM migrate.upgrade('heads');
		SELECT pg_catalog.array_agg(x.l ORDER BY x.l COLLATE "C") INTO up_lines
			FROM (SELECT pg_catalog.concat_ws(' ', d.kind, d.object, d.definition) FROM migrate.describe() d) x(l);
		phase := 'downgrade to base';
		PERFORM pg_catalog.count(*) FROM migrate.downgrade('base');
		SELECT pg_catalog.array_agg(x.l ORDER BY x.l COLLATE "C") INTO base_lines
			FROM (SELECT pg_catalog.concat_ws(' ', d.kind, d.object, d.definition) FROM migrate.describe() d) x(l);
		IF NOT (at_base AND base_lines IS DISTINCT FROM start_lines) THEN
			phase := 'upgrade to heads again';
			PERFORM pg_catalog.count(*) FROM migrate.upgrade('heads');
			SELECT pg_catalog.array_agg(x.l ORDER BY x.l COLLATE "C") INTO again_lines
				FROM (SELECT pg_catalog.concat_ws(' ', d.kind, d.object, d.definition) FROM migrate.describe() d) x(l);
		END IF;
		phase := NULL;
		RAISE EXCEPTION 'rollback' USING ERRCODE = 'PMRB1';
	EXCEPTION
		WHEN SQLSTATE 'PMRB1' THEN
			NULL;
		WHEN OTHERS THEN
			problems := problems OPERATOR(pg_catalog.||)
				pg_catalog.format('%s failed with SQLSTATE %s: %s', phase, SQLSTATE, SQLERRM);
	END;
	IF phase IS NULL AND at_base AND base_lines IS DISTINCT FROM start_lines THEN
		SELECT pg_catalog.string_agg(x.l, '; ') INTO diff FROM (
			(SELECT 'extra: ' OPERATOR(pg_catalog.||) l FROM pg_catalog.unnest(base_lines) l
			 EXCEPT SELECT 'extra: ' OPERATOR(pg_catalog.||) l FROM pg_catalog.unnest(start_lines) l)
			UNION ALL
			(SELECT 'missing: ' OPERATOR(pg_catalog.||) l FROM pg_catalog.unnest(start_lines) l
			 EXCEPT SELECT 'missing: ' OPERATOR(pg_catalog.||) l FROM pg_catalog.unnest(base_lines) l)
			ORDER BY 1 LIMIT 5) x(l);
		problems := problems OPERATOR(pg_catalog.||)
			('downgrade to base did not restore the schema the database started with: ' OPERATOR(pg_catalog.||) diff);
	ELSIF phase IS NULL AND again_lines IS DISTINCT FROM up_lines THEN
		SELECT pg_catalog.string_agg(x.l, '; ') INTO diff FROM (
			(SELECT 'extra: ' OPERATOR(pg_catalog.||) l FROM pg_catalog.unnest(again_lines) l
			 EXCEPT SELECT 'extra: ' OPERATOR(pg_catalog.||) l FROM pg_catalog.unnest(up_lines) l)
			UNION ALL
			(SELECT 'missing: ' OPERATOR(pg_catalog.||) l FROM pg_catalog.unnest(up_lines) l
			 EXCEPT SELECT 'missing: ' OPERATOR(pg_catalog.||) l FROM pg_catalog.unnest(again_lines) l)
			ORDER BY 1 LIMIT 5) x(l);
		problems := problems OPERATOR(pg_catalog.||)
			('upgrade to heads after the downgrade did not give the schema of the first upgrade: ' OPERATOR(pg_catalog.||) diff);
	END IF;
	EXECUTE 'SELECT ok($1, $2)' INTO line
		USING pg_catalog.cardinality(problems) OPERATOR(pg_catalog.=) 0,
			  'pg_migrate: upgrade to heads, downgrade to base and upgrade to heads again give the same schema'::text;
	RETURN NEXT line;
	FOREACH msg IN ARRAY problems LOOP
		EXECUTE 'SELECT diag($1)' INTO line USING msg;
		RETURN NEXT line;
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION migrate.tap_up_down_up() IS
'pgTAP: one test, passing when upgrade(''heads''), downgrade(''base'') and upgrade(''heads'') again all run and the second upgrade gives the schema of the first (and, from an empty applied set, the downgrade gives the starting schema).  Leaves the database as it was.  Needs pgTAP.';

REVOKE EXECUTE ON FUNCTION migrate.check_roundtrip(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.tap_roundtrip(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION migrate.tap_up_down_up() FROM PUBLIC;

/* ---- fingerprint and round trip (end) ---- */

/* ---- lint (begin) ---- */

-- No SET search_path: lint resolves the names of the SQL it reads with the
-- caller's search_path, as the SQL itself will when it runs.  It executes
-- none of that SQL and writes nothing.
CREATE FUNCTION migrate.lint(
	sql text,
	OUT statement integer, OUT line integer, OUT rule text, OUT severity text,
	OUT message text, OUT hint text, OUT table_name text,
	OUT estimated_rows bigint, OUT waived boolean, OUT waiver_reason text)
RETURNS SETOF record
LANGUAGE C STRICT
AS 'MODULE_PATHNAME', 'pgm_lint';
COMMENT ON FUNCTION migrate.lint(text) IS
'Lint migration SQL with PostgreSQL''s own parser: one row per finding (statement, line, rule, severity, message, hint, table, estimated rows), weighed by the live table (no finding on a table created earlier in the same SQL, missing, or with fewer estimated rows than pg_migrate.lint_min_rows).  A comment -- pg_migrate:allow <rule> <reason> on the line before a statement or on its line waives a rule: the finding is returned with waived = true.  NULL gives no rows.  Rules: SELECT * FROM migrate.lint_rules().';

CREATE FUNCTION migrate.lint_rules(
	OUT rule text, OUT severity text, OUT weighed boolean,
	OUT description text, OUT hint text)
RETURNS SETOF record
LANGUAGE C IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgm_lint_rules_srf';
COMMENT ON FUNCTION migrate.lint_rules() IS
'The rules of migrate.lint(): id, severity (error: blocks traffic for as long as the table takes to scan or rewrite; warning: breaks running code, loses data or queues traffic; info: never refuses), whether the live table size weighs it, what it catches, and the safe alternative.';

/* ---- lint (end) ---- */
