"""A job keeps the role it was started in, so that its file stays with that role (JobQuerySet.visible_to).

Jobs made before are given the role of their kind: without one, a requester who kept any role in the job's
organisation (HR withdrawn, course organiser kept) still downloaded what the withdrawn role had made."""

from django.db import migrations, models

ROLE_OF_KIND = {
    "vielfalt.employee_import": "hr",
    "access_export_pdf": "hr",
    "surveys.send_invitations": "hr",
    "surveys.render_code_sheets": "hr",
    "surveys.render_report": "hr",
    "trainings.sign_in_sheet": "organiser",
    "trainings.certificates": "organiser",
    "partnerships.agreement_render_pdf": "ministry",
    "partnerships.export_agreements": "ministry",
    "vielfalt.programme_report": "ministry",
    "processing_record_pdf": "ministry",
}


def role_of_kind(apps, schema_editor):
    Job = apps.get_model("vielfalt", "Job")
    for kind, role in ROLE_OF_KIND.items():
        Job.objects.filter(kind=kind, role="").update(role=role)


class Migration(migrations.Migration):
    dependencies = [
        ("vielfalt", "0030_authenticator_app"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="role",
            field=models.CharField(
                blank=True,
                choices=[
                    ("ministry", "Ministry staff"),
                    ("hr", "HR office"),
                    ("organiser", "Course organiser"),
                    ("admin", "Administrator"),
                ],
                max_length=20,
                verbose_name="role",
            ),
        ),
        migrations.RunPython(role_of_kind, migrations.RunPython.noop, elidable=True),
    ]
