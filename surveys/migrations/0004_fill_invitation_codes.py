import secrets

from django.db import migrations


def fill(apps, schema_editor):
    """Existing invitations: a code nobody knows (issued anew when sent), the unit they count for, and used
    ones counted (their answers are responses already)."""
    Invitation = apps.get_model("surveys", "Invitation")
    for invitation in Invitation.objects.filter(code_hash__isnull=True).select_related("employee").iterator():
        invitation.code_hash = secrets.token_hex(32)
        invitation.org_unit_id = invitation.employee.org_unit_id if invitation.employee_id else None
        invitation.counted = invitation.used
        invitation.save(update_fields=["code_hash", "org_unit", "counted"])


class Migration(migrations.Migration):
    dependencies = [("surveys", "0003_holding_table_codes_pools")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
