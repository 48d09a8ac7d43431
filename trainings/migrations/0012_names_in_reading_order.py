import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("trainings", "0011_enrolment_no_show_index"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="course",
            options={
                "ordering": [
                    models.OrderBy(
                        django.db.models.functions.comparison.Collate(models.F("title"), "vielfalt_names")
                    ),
                    "pk",
                ],
                "verbose_name": "course",
                "verbose_name_plural": "courses",
            },
        ),
        migrations.AlterModelOptions(
            name="courseparticipant",
            options={
                "ordering": [
                    models.OrderBy(
                        django.db.models.functions.comparison.Collate(
                            models.F("organisation__name"), "vielfalt_names"
                        )
                    )
                ],
                "verbose_name": "taking part",
                "verbose_name_plural": "taking part",
            },
        ),
    ]
