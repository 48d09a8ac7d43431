"""The dashboard's URLs, included at the root without a namespace (their names predate the package)."""

from django.urls import path

from . import network, privacy_views, views

urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("dashboard/commitments/", views.CommitmentListView.as_view(), name="dashboard_commitments"),
    path("dashboard/reports/", views.ReportRequestView.as_view(), name="dashboard_report"),
    path("dashboard/network/", network.NetworkFiguresView.as_view(), name="dashboard_network"),
    # The network's directory with what only the programme package may read (courses): the same paths as
    # network:partner_list and network:partner_detail, matched first (see vielfalt/programme/network.py).
    path("network/partners/", network.PartnerListView.as_view(), name="programme_partner_list"),
    path(
        "network/partners/<slug:slug>/", network.PartnerDetailView.as_view(), name="programme_partner_detail"
    ),
    path("privacy/retention/", privacy_views.RetentionView.as_view(), name="privacy_retention"),
    path("privacy/record/", privacy_views.ProcessingRecordView.as_view(), name="privacy_record"),
    path("employees/<int:pk>/access/", privacy_views.EmployeeAccessView.as_view(), name="employee_access"),
    path("accounts/my-data/", privacy_views.MyDataView.as_view(), name="my_data"),
]
