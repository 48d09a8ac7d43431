"""Django's admin log (`django_admin_log`) emptied: every admin change since the admin was audited (f406137) is in
the portal's audit log, which the retention purge pseudonymises; the admin log kept the objects' names for ever.
Nothing writes it any more (vielfalt.admin.AuditedAdminMixin)."""

from django.db import migrations


def empty_admin_log(apps, schema_editor):
    apps.get_model("admin", "LogEntry").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("vielfalt", "0026_user_lifecycle"),
    ]

    operations = [migrations.RunPython(empty_admin_log, migrations.RunPython.noop, elidable=True)]
