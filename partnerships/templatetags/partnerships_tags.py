from django import template

from partnerships.formatting import render_text

register = template.Library()


@register.filter
def agreement_text(value: str):
    """Plain agreement text with its small markup as safe HTML (paragraphs, lists, emphasis)."""
    return render_text(value)
