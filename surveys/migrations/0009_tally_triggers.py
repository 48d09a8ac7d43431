"""The triggers that keep ResponseTally and LanguageTally in step with `surveys_response` (surveys.models),
and the counts of the responses already there.

Statement-level triggers with transition tables: a release that moves k or more held answers into
`surveys_response` changes the counts once, in its own transaction; no statement of a submission touches
them (answers are held in `surveys_heldanswer` until a release). Every change is an upsert ordered by its
key. PostgreSQL only: on SQLite (the embedded default) the results count the responses themselves.
"""

from django.db import migrations


def _counts(source: str, sign: str) -> str:
    return f"""
        INSERT INTO surveys_responsetally AS t (campaign_id, target_group, n, mh_yes, mh_not, eg_yes, eg_not)
        SELECT campaign_id, target_group, {sign}count(*),
            {sign}count(*) FILTER (WHERE migration_background = 'yes'),
            {sign}count(*) FILTER (WHERE migration_background <> 'yes'),
            {sign}count(*) FILTER (WHERE immigration_history = 'yes'),
            {sign}count(*) FILTER (WHERE immigration_history <> 'yes')
        FROM {source} GROUP BY campaign_id, target_group ORDER BY campaign_id, target_group
        ON CONFLICT (campaign_id, target_group) DO UPDATE SET n = t.n + EXCLUDED.n,
            mh_yes = t.mh_yes + EXCLUDED.mh_yes, mh_not = t.mh_not + EXCLUDED.mh_not,
            eg_yes = t.eg_yes + EXCLUDED.eg_yes, eg_not = t.eg_not + EXCLUDED.eg_not;
        INSERT INTO surveys_languagetally AS t (campaign_id, code, n)
        SELECT r.campaign_id, l.code, {sign}count(DISTINCT r.id)
        FROM {source} r CROSS JOIN LATERAL unnest(string_to_array(r.languages, '|')) AS l(code)
        WHERE l.code <> '' GROUP BY r.campaign_id, l.code ORDER BY r.campaign_id, l.code
        ON CONFLICT (campaign_id, code) DO UPDATE SET n = t.n + EXCLUDED.n;"""


FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION surveys_response_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_counts("old_rows", "-")}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_counts("new_rows", "")}
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION surveys_response_tally_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM surveys_responsetally;
    DELETE FROM surveys_languagetally;
    {_counts("surveys_response", "")}
END
$$;
"""

REFERENCING = {
    "INSERT": "NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}

TRIGGERS = "\n".join(
    f"DROP TRIGGER IF EXISTS surveys_response_tally_{event.lower()} ON surveys_response;"
    f"CREATE TRIGGER surveys_response_tally_{event.lower()} AFTER {event} ON surveys_response "
    f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION surveys_response_tally();"
    for event, referencing in REFERENCING.items()
)


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS)
    schema_editor.execute(TRIGGERS)
    schema_editor.execute("SELECT surveys_response_tally_rebuild()")


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP FUNCTION IF EXISTS surveys_response_tally() CASCADE")
    schema_editor.execute("DROP FUNCTION IF EXISTS surveys_response_tally_rebuild()")


class Migration(migrations.Migration):
    dependencies = [("surveys", "0008_tallies")]

    operations = [migrations.RunPython(install, uninstall)]
