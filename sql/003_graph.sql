-- Inspecting the graph: heads, bases, branch points, current, history, show.
CREATE EXTENSION pg_migrate;

-- The branched graph of Alembic's own tests:
--   a -> b -> c1 -> d1      (c1 declares branch label c1branch)
--        b -> c2 -> d2      (c2 declares branch label c2branch)
-- plus an independent root x1 -> x2 that depends on c2.
SELECT migrate.revision(id => 'a', down_revision => '{}', upgrade => 'SELECT 1', message => 'rev a');
SELECT migrate.revision(id => 'b', down_revision => '{a}', upgrade => 'SELECT 1', message => 'rev b');
SELECT migrate.revision(id => 'c1', down_revision => '{b}', upgrade => 'SELECT 1', message => 'rev c1', branch_labels => '{c1branch}');
SELECT migrate.revision(id => 'c2', down_revision => '{b}', upgrade => 'SELECT 1', message => 'rev c2', branch_labels => '{c2branch}');
SELECT migrate.revision(id => 'd1', down_revision => '{c1}', upgrade => 'SELECT 1', message => 'rev d1');
SELECT migrate.revision(id => 'd2', down_revision => '{c2}', upgrade => 'SELECT 1', message => 'rev d2');
SELECT migrate.revision(id => 'x1', down_revision => '{}', upgrade => 'SELECT 1', message => 'rev x1');
SELECT migrate.revision(id => 'x2', down_revision => '{x1}', depends_on => '{c2branch}', upgrade => 'SELECT 1', message => 'rev x2');

-- heads(): no child through down_revision (depends_on does not count here,
-- as in "alembic heads").  branch_labels are the labels of the branch a
-- revision belongs to.
SELECT * FROM migrate.heads();
SELECT * FROM migrate.bases();
SELECT * FROM migrate.branches();

-- history(): newest first; ranges A:B, :B and A: include both ends.
SELECT revision, down_revision, depends_on, branch_labels, is_head, is_branch_point, is_merge, applied
FROM migrate.history();
SELECT revision FROM migrate.history('b:d1');
SELECT revision FROM migrate.history(':c2');
SELECT revision FROM migrate.history('c1branch@head:');
SELECT revision FROM migrate.history('c1:d2');
-- a branch-qualified lower end keeps to that branch; the upper end may be
-- relative to the lower one
SELECT revision FROM migrate.history('c1branch@base:');
SELECT revision FROM migrate.history('c1:c1+1');

-- show(): one row per revision a target names.
SELECT revision, down_revision, depends_on, branch_labels, message, upgrade, downgrade,
       verify, transactional, children, is_head, is_merge, is_branch_point, applied
FROM migrate.show('b');
SELECT revision, children FROM migrate.show('heads');

-- current(): nothing applied yet; then stamp two branches.
SELECT * FROM migrate.current();
SELECT * FROM migrate.stamp(ARRAY['d1', 'x2'], purge => true);
-- x2 depends on c2, so c2 is applied but implied by x2, and not current.
SELECT revision, message, branch_labels, is_merge, applied_by = current_user AS by_me,
       applied_at IS NOT NULL AS has_time
FROM migrate.current();
SELECT revision, applied FROM migrate.heads();
SELECT current, heads, pending, last_event FROM migrate.status();

-- A merge shows in heads() and history().
SELECT migrate.merge(ARRAY['d1', 'd2'], id => 'm', message => 'merge d1 and d2');
SELECT revision, is_merge, branch_labels FROM migrate.heads();
SELECT revision, is_merge FROM migrate.history(':m');

DROP EXTENSION pg_migrate;
