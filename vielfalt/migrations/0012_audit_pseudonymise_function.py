"""The retention purge's one change to the audit log as a function that the owner role owns (SECURITY DEFINER):
the runtime role may EXECUTE it but has no UPDATE on the table at all (vielfalt.dbroles). The function changes
only what the purge may: an entry not yet pseudonymised gets its actor link cleared, the actor's name and the
description replaced by pseudonyms (or kept), and every changed value that is not a number replaced by "…"
(worked out here, not taken from the caller); the table's trigger checks the shape once more. PostgreSQL only:
the embedded SQLite default has no roles and keeps the ORM update."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION vielfalt_audit_pseudonymise(
    entry_id bigint, new_actor_name text, new_object_repr text, stamped_at timestamptz
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    entry record;
    pseudonym CONSTANT text := '^P-[0-9a-f]{12}$';
    redacted jsonb;
BEGIN
    SELECT * INTO entry FROM public.vielfalt_auditentry WHERE id = entry_id AND pseudonymised_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    IF NOT (new_actor_name = entry.actor_name AND entry.actor_name IN ('', 'system')
            OR entry.actor_name NOT IN ('', 'system') AND new_actor_name ~ pseudonym) THEN
        RAISE EXCEPTION 'The actor of an audit entry can only become a pseudonym';
    END IF;
    IF NOT (new_object_repr = entry.object_repr OR new_object_repr ~ pseudonym) THEN
        RAISE EXCEPTION 'The description of an audit entry can only become a pseudonym';
    END IF;
    IF entry.action = 'purge' THEN
        redacted := entry.changes;  -- a purge's own entry holds counts only
    ELSE
        SELECT coalesce(jsonb_object_agg(key, CASE WHEN jsonb_typeof(value) IN ('number', 'boolean', 'null')
                                                   THEN value ELSE to_jsonb('…'::text) END), '{}'::jsonb)
          INTO redacted
          FROM jsonb_each(CASE WHEN jsonb_typeof(entry.changes) = 'object' THEN entry.changes ELSE '{}'::jsonb END);
    END IF;
    PERFORM set_config('vielfalt.audit_pseudonymise', 'on', true);
    UPDATE public.vielfalt_auditentry
       SET actor_id = NULL, actor_name = new_actor_name, object_repr = new_object_repr, changes = redacted,
           pseudonymised_at = stamped_at
     WHERE id = entry_id;
    PERFORM set_config('vielfalt.audit_pseudonymise', '', true);
    RETURN 1;
END
$$;
REVOKE ALL ON FUNCTION vielfalt_audit_pseudonymise(bigint, text, text, timestamptz) FROM PUBLIC;
"""

DROP = "DROP FUNCTION IF EXISTS vielfalt_audit_pseudonymise(bigint, text, text, timestamptz);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("vielfalt", "0011_job_input_and_problems"),
    ]

    operations = [migrations.RunPython(create, drop)]
