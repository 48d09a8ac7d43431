from django import template

from partnerships.formatting import render_text
from partnerships.models import Agreement

register = template.Library()


@register.filter
def agreement_text(value: str):
    """Plain agreement text with its small markup as safe HTML (paragraphs, lists, emphasis)."""
    return render_text(value)


@register.filter
def status_label(value: str) -> str:
    """The readable name of an agreement status as stored in the audit log."""
    try:
        return Agreement.Status(value).label
    except ValueError:
        return value
