"""Writing to the append-only audit log. Services call `audit_record` for every change they make."""

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import AuditEntry, Organisation, User


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    organisation: Organisation | None = None,
    changes: dict | None = None,
    object_repr: str = "",
) -> AuditEntry:
    if actor is None or not actor.is_authenticated:
        actor_name = ""
        actor = None
    elif getattr(actor, "is_system", False):
        actor_name = actor.get_username()
        actor = None
    else:
        actor_name = actor.get_username()
    if organisation is None and obj is not None:
        organisation = obj if isinstance(obj, Organisation) else getattr(obj, "organisation", None)
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor_name,
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:300],
        organisation=organisation,
        changes=changes or {},
    )


def audit_entries_for(obj: models.Model):
    """The history of one object, newest first."""
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    ).select_related("actor")


def model_changes(instance: models.Model, fields: list[str], before: dict) -> dict:
    """Field-by-field differences between `before` (field → old value) and `instance`, as text."""
    changes = {}
    for name in fields:
        old, new = before.get(name), getattr(instance, name)
        if old != new:
            changes[name] = [_as_text(old), _as_text(new)]
    return changes


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, models.Model):
        return str(value)
    return str(value)
