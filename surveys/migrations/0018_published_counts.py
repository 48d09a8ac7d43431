"""What each closed campaign publishes, stored for the programme's figures (surveys.models.PublishedCounts), and
the triggers that drop a campaign's stored row whenever its responses change (a release, or a change by hand
after closing): the programme's figures then store it anew from the campaign's results when they next need
it (surveys.results.programme_results), as they do for the campaigns closed before this migration.

Statement-level triggers with transition tables, like the tallies' (0009): one DELETE per statement, none per
answer. PostgreSQL only."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

REFERENCING = {
    "INSERT": ("NEW TABLE AS new_rows", "SELECT campaign_id FROM new_rows"),
    "DELETE": ("OLD TABLE AS old_rows", "SELECT campaign_id FROM old_rows"),
    "UPDATE": (
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT campaign_id FROM old_rows UNION SELECT campaign_id FROM new_rows",
    ),
}


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for event, (referencing, campaigns) in REFERENCING.items():
        schema_editor.execute(
            f"""
            CREATE OR REPLACE FUNCTION surveys_response_published_{event.lower()}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM surveys_publishedcounts WHERE campaign_id IN ({campaigns});
                RETURN NULL;
            END
            $$;
            DROP TRIGGER IF EXISTS surveys_response_published_{event.lower()} ON surveys_response;
            CREATE TRIGGER surveys_response_published_{event.lower()} AFTER {event} ON surveys_response
            REFERENCING {referencing} FOR EACH STATEMENT
            EXECUTE FUNCTION surveys_response_published_{event.lower()}();
            """
        )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for event in REFERENCING:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS surveys_response_published_{event.lower()}() CASCADE")


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0017_purpose_fits_the_code_sheet'),
    ]

    operations = [
        migrations.CreateModel(
            name='PublishedCounts',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('overall_n', models.IntegerField(default=0)),
                ('overall_mh_yes', models.IntegerField(default=0)),
                ('overall_mh_not', models.IntegerField(default=0)),
                ('overall_eg_yes', models.IntegerField(default=0)),
                ('overall_eg_not', models.IntegerField(default=0)),
                ('trainee_n', models.IntegerField(default=0)),
                ('trainee_mh_yes', models.IntegerField(default=0)),
                ('trainee_mh_not', models.IntegerField(default=0)),
                ('trainee_eg_yes', models.IntegerField(default=0)),
                ('trainee_eg_not', models.IntegerField(default=0)),
                ('public_facing_n', models.IntegerField(default=0)),
                ('public_facing_mh_yes', models.IntegerField(default=0)),
                ('public_facing_mh_not', models.IntegerField(default=0)),
                ('public_facing_eg_yes', models.IntegerField(default=0)),
                ('public_facing_eg_not', models.IntegerField(default=0)),
                ('manager_n', models.IntegerField(default=0)),
                ('manager_mh_yes', models.IntegerField(default=0)),
                ('manager_mh_not', models.IntegerField(default=0)),
                ('manager_eg_yes', models.IntegerField(default=0)),
                ('manager_eg_not', models.IntegerField(default=0)),
                ('other_n', models.IntegerField(default=0)),
                ('other_mh_yes', models.IntegerField(default=0)),
                ('other_mh_not', models.IntegerField(default=0)),
                ('other_eg_yes', models.IntegerField(default=0)),
                ('other_eg_not', models.IntegerField(default=0)),
                ('na_n', models.IntegerField(default=0)),
                ('na_mh_yes', models.IntegerField(default=0)),
                ('na_mh_not', models.IntegerField(default=0)),
                ('na_eg_yes', models.IntegerField(default=0)),
                ('na_eg_not', models.IntegerField(default=0)),
                ('language_de_n', models.IntegerField(default=0)),
                ('language_en_n', models.IntegerField(default=0)),
                ('language_tr_n', models.IntegerField(default=0)),
                ('language_ar_n', models.IntegerField(default=0)),
                ('language_pl_n', models.IntegerField(default=0)),
                ('language_ru_n', models.IntegerField(default=0)),
                ('language_uk_n', models.IntegerField(default=0)),
                ('language_ro_n', models.IntegerField(default=0)),
                ('language_bg_n', models.IntegerField(default=0)),
                ('language_fr_n', models.IntegerField(default=0)),
                ('language_ku_n', models.IntegerField(default=0)),
                ('language_other_n', models.IntegerField(default=0)),
                ('campaign', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='surveys.campaign')),
            ],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='publishedcounts',
            trigger=pgtrigger.compiler.Trigger(name='figures_changed', sql=pgtrigger.compiler.UpsertTriggerSql(func="PERFORM nextval('vielfalt_figures_generation'); RETURN NULL;", hash='9df3663f26de6de44f965f0ed531690f6d84e6c0', level='STATEMENT', operation='INSERT OR UPDATE OR DELETE', pgid='pgtrigger_figures_changed_c9e4d', table='surveys_publishedcounts', when='AFTER')),
        ),
        migrations.RunPython(install, uninstall),
    ]
