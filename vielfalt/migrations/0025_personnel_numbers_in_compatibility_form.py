"""Personnel numbers kept as typed in full-width characters ("ＢＳ－０１２３４５") become the ASCII ones
(vielfalt.models.personnel_number_text), as every write keeps them from now on. A number whose ASCII form
another employee of the organisation already has stays as it is: the two records are one person's, which HR
merges (deleting one); the migration cannot know which to keep."""

import unicodedata

from django.db import migrations

CHUNK = 5000


def normalise(apps, schema_editor):
    # vielfalt.models.personnel_number_text, spelt out: a migration must not change when that code does.
    Employee = apps.get_model("vielfalt", "Employee")
    changed = [
        (pk, organisation_id, normal)
        for pk, organisation_id, number in Employee.objects.values_list(
            "pk", "organisation_id", "personnel_number"
        ).iterator(chunk_size=CHUNK)
        if (normal := unicodedata.normalize("NFKC", number).strip()) != number
    ]
    for pk, organisation_id, number in changed:
        taken = Employee.objects.filter(organisation_id=organisation_id, personnel_number=number).exists()
        if number and not taken:
            Employee.objects.filter(pk=pk).update(personnel_number=number)


class Migration(migrations.Migration):
    dependencies = [("vielfalt", "0024_field_verbose_names")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop, elidable=True)]
