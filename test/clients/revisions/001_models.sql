-- r1_models: the base of the model registry.  It also creates
-- app_migration_log, the side-effect table the client tests count: every
-- revision's upgrade inserts one row (revision, backend pid), so a revision
-- that ran twice shows up twice.
SELECT migrate.revision(
    id            => 'r1_models',
    down_revision => '{}',
    upgrade       => $$
        CREATE TABLE app_migration_log (
            revision  text NOT NULL,
            pid       int NOT NULL,
            logged_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE TABLE models (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name       text NOT NULL UNIQUE,
            task       text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO app_migration_log (revision, pid) VALUES ('r1_models', pg_backend_pid());
    $$,
    downgrade     => $$
        DROP TABLE models;
        DROP TABLE app_migration_log;
    $$,
    message       => 'create models');
