"""EmployeeAttendance and AttendanceTally per org unit too (`unit`: its id, 0 for none): the training report's
unit table reads the tallies instead of every employee of the programme checked for attendance (the ministry's
report: 128 ms of SQL at full scale; one city of 100,000 employees: 111 ms). The functions of migration 0006,
with the unit, and every count rebuilt. PostgreSQL only, as 0006."""

from importlib import import_module

from django.conf import settings
from django.db import migrations, models

tallies = import_module("trainings.migrations.0006_tally_triggers")


def _install(units: bool, then: str):
    """Install the functions (with or without units), then rebuild every count or empty the tables (so that
    the key without the unit can be made unique again: the rebuild follows once the columns are gone)."""

    def install(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(tallies.functions_sql(settings.TIME_ZONE, units=units))
        schema_editor.execute(
            "SELECT trainings_attendance_rebuild()"
            if then == "rebuild"
            else "DELETE FROM trainings_employeeattendance; DELETE FROM trainings_attendancetally"
        )

    return install


class Migration(migrations.Migration):

    dependencies = [
        ('trainings', '0012_names_in_reading_order'),
        ('vielfalt', '0023_names_in_reading_order'),
    ]

    operations = [
        # Backwards, last: the counts without units again, once the columns are gone.
        migrations.RunPython(migrations.RunPython.noop, _install(units=False, then="rebuild")),
        migrations.RemoveConstraint(
            model_name='attendancetally',
            name='attendancetally_unique',
        ),
        migrations.AddField(
            model_name='attendancetally',
            name='unit',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='employeeattendance',
            name='unit',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name='attendancetally',
            constraint=models.UniqueConstraint(fields=('organisation', 'unit', 'target_group', 'is_active', 'year'), name='attendancetally_unique', violation_error_message='This count exists already; the database keeps it.'),
        ),
        # Backwards, first: functions that no longer write the unit, the counts emptied (rebuilt at the end).
        migrations.RunPython(_install(units=True, then="rebuild"), _install(units=False, then="empty")),
    ]
