import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("network", "0007_practice_rank_vector"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="contactperson",
            options={
                "ordering": [
                    models.OrderBy(
                        django.db.models.functions.comparison.Collate(models.F("name"), "vielfalt_names")
                    ),
                    "pk",
                ],
                "verbose_name": "contact person",
                "verbose_name_plural": "contact persons",
            },
        ),
    ]
