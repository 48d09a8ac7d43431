"""Campaigns only. Invitations (who was invited and who used a link) and responses have no admin pages:
nobody browses them one by one, not even an administrator."""

from django.contrib import admin

from vielfalt.admin import AuditedModelAdmin

from .models import Campaign


@admin.register(Campaign)
class CampaignAdmin(AuditedModelAdmin):
    """Shown, never added or changed here: a campaign is created and changed on its own page (administrators act
    as HR for every organisation there), whose services change only a draft, withdraw a draft's invitations
    outside its units, offer the units of the campaign's organisation only and keep what respondents were
    promised. Saved here, a closed campaign's minimum group size was lowered from 5 to 3 and its results showed
    groups that small; a new campaign took another organisation's units. Only a draft is deleted: an open
    campaign's held answers went with it."""

    list_display = ["title", "organisation", "status", "opens_on", "closes_on", "k"]
    list_filter = ["status", "organisation"]
    search_fields = ["title", "organisation__name"]
    readonly_fields = ["questionnaire_version", "status"]
    # The units as a plain labelled list (no filter_horizontal): Django's filter widget names its search boxes
    # with an aria-label on a <span>, which ARIA prohibits (axe: aria-prohibited-attr).

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return (obj is None or obj.is_draft) and super().has_delete_permission(request, obj)
