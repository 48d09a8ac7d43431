"""Campaigns only. Invitations (who was invited and who used a link) and responses have no admin pages:
nobody browses them one by one, not even an administrator."""

from django.contrib import admin

from vielfalt.admin import AuditedModelAdmin

from .models import Campaign


@admin.register(Campaign)
class CampaignAdmin(AuditedModelAdmin):
    list_display = ["title", "organisation", "status", "opens_on", "closes_on", "k"]
    list_filter = ["status", "organisation"]
    search_fields = ["title", "organisation__name"]
    readonly_fields = ["questionnaire_version", "status"]
    # The units as a plain labelled list (no filter_horizontal): Django's filter widget names its search boxes
    # with an aria-label on a <span>, which ARIA prohibits (axe: aria-prohibited-attr).
