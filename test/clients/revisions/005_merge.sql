-- r5_merge: joins the two heads, r2_versions and r4_datasets.  Written with
-- migrate.revision rather than migrate.merge so that it, too, leaves its row
-- in app_migration_log.
SELECT migrate.revision(
    id            => 'r5_merge',
    down_revision => '{r2_versions,r4_datasets}',
    upgrade       => $$
        INSERT INTO app_migration_log (revision, pid) VALUES ('r5_merge', pg_backend_pid());
    $$,
    downgrade     => $$
        DELETE FROM app_migration_log WHERE revision = 'r5_merge';
    $$,
    message       => 'merge versions and features');
