-- r04_promotion_audit: every stage change of a model version (and every
-- version created in a stage other than 'none') is written to
-- promotion_events by a trigger.
SELECT migrate.revision(
    id            => 'r04_promotion_audit',
    down_revision => '{r03_stage}',
    message       => 'promotion_events audit table filled by a trigger on stage changes',
    upgrade       => $$
        CREATE TABLE promotion_events (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            model_id    bigint  NOT NULL,
            version     integer NOT NULL,
            from_stage  model_stage,
            to_stage    model_stage NOT NULL,
            changed_at  timestamptz NOT NULL DEFAULT now(),
            changed_by  text NOT NULL DEFAULT current_user,
            FOREIGN KEY (model_id, version)
                REFERENCES model_versions (model_id, version) ON DELETE CASCADE
        );
        CREATE INDEX promotion_events_version_idx
            ON promotion_events (model_id, version, changed_at);

        CREATE FUNCTION log_model_version_promotion() RETURNS trigger
        LANGUAGE plpgsql AS $fn$
        BEGIN
            INSERT INTO promotion_events (model_id, version, from_stage, to_stage)
            VALUES (NEW.model_id, NEW.version,
                    CASE WHEN TG_OP = 'UPDATE' THEN OLD.stage END,
                    NEW.stage);
            RETURN NULL;
        END
        $fn$;

        CREATE TRIGGER model_versions_stage_changed
            AFTER UPDATE OF stage ON model_versions
            FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage)
            EXECUTE FUNCTION log_model_version_promotion();
        CREATE TRIGGER model_versions_created_in_stage
            AFTER INSERT ON model_versions
            FOR EACH ROW WHEN (NEW.stage <> 'none')
            EXECUTE FUNCTION log_model_version_promotion();
    $$,
    downgrade     => $$
        DROP TRIGGER model_versions_created_in_stage ON model_versions;
        DROP TRIGGER model_versions_stage_changed ON model_versions;
        DROP FUNCTION log_model_version_promotion();
        DROP TABLE promotion_events;
    $$);
