"""The results read a campaign's counts from the index (an index-only scan); the new index is built before the
old one, whose key it keeps, is dropped."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0010_tally_messages"),
        ("vielfalt", "0014_employee_list_order"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="response",
            index=models.Index(
                fields=["campaign", "target_group"],
                include=("org_unit", "org_unit_other", "migration_background", "immigration_history"),
                name="response_campaign_counts",
            ),
        ),
        migrations.RemoveIndex(
            model_name="response",
            name="response_campaign_group",
        ),
    ]
