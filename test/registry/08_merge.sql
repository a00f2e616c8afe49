-- r08_merge: joins the "monitoring" and "catalog" branches again. Written
-- with migrate.revision rather than migrate.merge so the file carries its
-- own id, message and explicit parents; a merge does nothing itself.
SELECT migrate.revision(
    id            => 'r08_merge',
    down_revision => '{r05_monitoring,r07_catalog_tags}',
    message       => 'merge monitoring and catalog',
    upgrade       => '',
    downgrade     => '');
