"""The dashboard's URLs, included at the root without a namespace (their names predate the package)."""

from django.urls import path

from . import privacy_views, views

urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("dashboard/commitments/", views.CommitmentListView.as_view(), name="dashboard_commitments"),
    path("dashboard/reports/", views.ReportRequestView.as_view(), name="dashboard_report"),
    path("privacy/retention/", privacy_views.RetentionView.as_view(), name="privacy_retention"),
    path("privacy/record/", privacy_views.ProcessingRecordView.as_view(), name="privacy_record"),
    path("employees/<int:pk>/access/", privacy_views.EmployeeAccessView.as_view(), name="employee_access"),
]
