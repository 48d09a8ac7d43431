from django.db import migrations, models
from django.db.models.functions import Now


def start_the_clocks(apps, schema_editor):
    """Accounts deactivated before this migration count as deactivated now: when is not known."""
    apps.get_model("vielfalt", "User").objects.filter(is_active=False).update(deactivated_at=Now())


class Migration(migrations.Migration):
    dependencies = [
        ("vielfalt", "0025_personnel_numbers_in_compatibility_form"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="active_since",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="active since"),
        ),
        migrations.AddField(
            model_name="user",
            name="deactivated_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="deactivated"),
        ),
        migrations.AddField(
            model_name="user",
            name="pseudonymised_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="pseudonymised"),
        ),
        migrations.RunPython(start_the_clocks, migrations.RunPython.noop),
    ]
