"""The admin index's "Recent actions" from the portal's audit log (Django's read LogEntry, which the portal does
not write: vielfalt.admin.AuditedAdminMixin)."""

from django import template
from django.urls import NoReverseMatch, reverse

from vielfalt.models import AuditEntry

register = template.Library()

SHOWN = {
    AuditEntry.Action.CREATE: "addlink",
    AuditEntry.Action.CHANGE: "changelink",
    AuditEntry.Action.DELETE: "deletelink",
}


def _change_url(entry: AuditEntry) -> str:
    if entry.action == AuditEntry.Action.DELETE or not entry.content_type_id or not entry.object_id:
        return ""
    model = entry.content_type.model_class()
    if model is None:
        return ""
    try:
        return reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[entry.object_id]
        )
    except NoReverseMatch:  # a model without an admin page
        return ""


@register.simple_tag
def recent_actions(user, limit: int = 10) -> list[dict]:
    """The user's own last creations, changes and deletions, through the admin or the portal's pages: what the
    entry says of the object (a pseudonym once the purge has passed), its kind and a link to its admin page."""
    entries = (
        AuditEntry.objects.filter(actor=user, action__in=list(SHOWN))
        .select_related("content_type")
        .order_by("-at", "-pk")[:limit]
    )
    return [
        {
            "css": SHOWN[entry.action],
            "action": entry.get_action_display(),
            "object": entry.object_repr or "–",
            "kind": entry.content_type.name if entry.content_type_id else "",
            "url": _change_url(entry),
        }
        for entry in entries
    ]
