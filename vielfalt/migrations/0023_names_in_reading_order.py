"""Names in the order German readers expect (vielfalt.collation): the ICU collation every sort by text names, and
the employee lists' order indexes in it, and one of the organisations by name.

PostgreSQL needs ICU (Debian's packages and the official images have it); SQLite gets the collation from
`vielfalt.sqlite` on each connection. Rebuilding the four indexes reads the employee table once each; on a city's
100,000 employees that takes seconds, during which the table takes no writes."""

import django.db.models.functions.comparison
from django.contrib.postgres.operations import CreateCollation
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('vielfalt', '0022_audit_pages'),
    ]

    operations = [
        CreateCollation("vielfalt_names", provider="icu", locale="de"),
        migrations.AlterModelOptions(
            name='employee',
            options={'ordering': [models.OrderBy(django.db.models.functions.comparison.Collate(models.F('last_name'), 'vielfalt_names')), models.OrderBy(django.db.models.functions.comparison.Collate(models.F('first_name'), 'vielfalt_names')), 'personnel_number'], 'verbose_name': 'employee', 'verbose_name_plural': 'employees'},
        ),
        migrations.AlterModelOptions(
            name='organisation',
            options={'ordering': [models.OrderBy(django.db.models.functions.comparison.Collate(models.F('name'), 'vielfalt_names'))], 'verbose_name': 'organisation', 'verbose_name_plural': 'organisations'},
        ),
        migrations.AlterModelOptions(
            name='orgunit',
            options={'ordering': [models.OrderBy(django.db.models.functions.comparison.Collate(models.F('name'), 'vielfalt_names'))], 'verbose_name': 'org unit', 'verbose_name_plural': 'org units'},
        ),
        migrations.RemoveIndex(
            model_name='employee',
            name='employee_org_order',
        ),
        migrations.RemoveIndex(
            model_name='employee',
            name='employee_unit_order',
        ),
        migrations.RemoveIndex(
            model_name='employee',
            name='employee_inactive_order',
        ),
        migrations.RemoveIndex(
            model_name='employee',
            name='employee_name_order',
        ),
        migrations.AddIndex(
            model_name='employee',
            index=models.Index(models.F('organisation'), django.db.models.functions.comparison.Collate(models.F('last_name'), 'vielfalt_names'), django.db.models.functions.comparison.Collate(models.F('first_name'), 'vielfalt_names'), models.F('personnel_number'), name='employee_org_order'),
        ),
        migrations.AddIndex(
            model_name='employee',
            index=models.Index(models.F('organisation'), models.F('org_unit'), django.db.models.functions.comparison.Collate(models.F('last_name'), 'vielfalt_names'), django.db.models.functions.comparison.Collate(models.F('first_name'), 'vielfalt_names'), models.F('personnel_number'), name='employee_unit_order'),
        ),
        migrations.AddIndex(
            model_name='employee',
            index=models.Index(django.db.models.functions.comparison.Collate(models.F('last_name'), 'vielfalt_names'), django.db.models.functions.comparison.Collate(models.F('first_name'), 'vielfalt_names'), models.F('personnel_number'), name='employee_name_order'),
        ),
        migrations.AddIndex(
            model_name='employee',
            index=models.Index(models.F('organisation'), django.db.models.functions.comparison.Collate(models.F('last_name'), 'vielfalt_names'), django.db.models.functions.comparison.Collate(models.F('first_name'), 'vielfalt_names'), models.F('personnel_number'), condition=models.Q(('is_active', False)), name='employee_inactive_order'),
        ),
        migrations.AddIndex(
            model_name='organisation',
            index=models.Index(django.db.models.functions.comparison.Collate(models.F('name'), 'vielfalt_names'), models.F('id'), name='organisation_name_order'),
        ),
    ]
