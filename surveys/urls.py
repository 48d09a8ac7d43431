from django.urls import path, re_path

from . import views

app_name = "surveys"

urlpatterns = [
    # The respondents' pages first: on launch morning they are most of the requests, and the resolver tries the
    # patterns in order. The one URL with a token only sets the state and redirects (never a 404 that would be
    # logged).
    re_path(r"^t/(?P<token>[^/]*)/.*$", views.TokenView.as_view(), name="token"),
    # A link cut right after its token (by a mail client or in copying): answered as the link, not with
    # APPEND_SLASH's permanent redirect, which browsers keep with the token in its target.
    re_path(r"^t/(?P<token>[^/]+)$", views.TokenView.as_view(), name="token_cut"),
    path("answer/", views.AnswerView.as_view(), name="answer"),
    path("", views.IndexView.as_view(), name="index"),
    path("new/", views.CampaignCreateView.as_view(), name="campaign_create"),
    path("new/units/", views.CampaignUnitChoicesView.as_view(), name="campaign_units"),
    path("programme/", views.ProgrammeResultsView.as_view(), name="programme"),
    path("<int:pk>/", views.CampaignDetailView.as_view(), name="campaign_detail"),
    path("<int:pk>/edit/", views.CampaignUpdateView.as_view(), name="campaign_update"),
    path("<int:pk>/open/", views.CampaignOpenView.as_view(), name="campaign_open"),
    path("<int:pk>/close/", views.CampaignCloseView.as_view(), name="campaign_close"),
    path("<int:pk>/extend/", views.CampaignExtendView.as_view(), name="campaign_extend"),
    path("<int:pk>/invite/", views.InviteView.as_view(), name="invite"),
    path("<int:pk>/send/", views.SendView.as_view(), name="send"),
    path("<int:pk>/remind/", views.SendView.as_view(reminder=True), name="remind"),
    path("<int:pk>/code-sheets/", views.CodeSheetsView.as_view(), name="code_sheets"),
    path("<int:pk>/results/", views.ResultsView.as_view(), name="results"),
    re_path(
        r"^(?P<pk>\d+)/results\.(?P<export_format>csv|xlsx)$",
        views.ResultsExportView.as_view(),
        name="results_export",
    ),
    path("<int:pk>/report/", views.ReportView.as_view(), name="report"),
]
