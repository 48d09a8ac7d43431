"""The dashboard's URLs, included at the root without a namespace (their names predate the package)."""

from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("dashboard/commitments/", views.CommitmentListView.as_view(), name="dashboard_commitments"),
    path("dashboard/reports/", views.ReportRequestView.as_view(), name="dashboard_report"),
]
