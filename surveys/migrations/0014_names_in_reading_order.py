import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0013_invitation_counts"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="campaign",
            options={
                "ordering": [
                    "-opens_on",
                    models.OrderBy(
                        django.db.models.functions.comparison.Collate(models.F("title"), "vielfalt_names")
                    ),
                ],
                "verbose_name": "survey campaign",
                "verbose_name_plural": "survey campaigns",
            },
        ),
    ]
