"""Django's `createsuperuser`, recorded in the audit log: an operator's new superuser (every right, no second
factor exempted, never deactivated for disuse) was the one account that came into being without a trace."""

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import createsuperuser

from vielfalt.audit import audit_record
from vielfalt.models import AuditEntry
from vielfalt.permissions import SYSTEM


class Command(createsuperuser.Command):
    def handle(self, *args, **options):
        superusers = (
            get_user_model()._default_manager.db_manager(options["database"]).filter(is_superuser=True)
        )
        before = set(superusers.values_list("pk", flat=True))
        result = super().handle(*args, **options)
        for user in superusers.exclude(pk__in=before):
            audit_record(
                actor=SYSTEM,
                action=AuditEntry.Action.CREATE,
                obj=user,
                changes={"via": "createsuperuser", "is_superuser": True},
            )
        return result
