from django.urls import path

from . import views

app_name = "partnerships"

urlpatterns = [
    path("", views.AgreementListView.as_view(), name="index"),
    path("new/", views.AgreementFormView.as_view(), name="create"),
    path("partner-choices/", views.PartnerChoicesView.as_view(), name="partner_choices"),
    path("export/", views.ExportView.as_view(), name="export"),
    path("procedures/", views.ProcedureListView.as_view(), name="procedure_list"),
    path("procedures/new/", views.ProcedureFormView.as_view(), name="procedure_create"),
    path("procedures/<int:pk>/", views.ProcedureFormView.as_view(), name="procedure_update"),
    path("<int:pk>/", views.AgreementDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.AgreementFormView.as_view(), name="update"),
    path("<int:pk>/status/", views.AgreementTransitionView.as_view(), name="transition"),
    path("<int:pk>/pdf/", views.AgreementRenderPdfView.as_view(), name="render_pdf"),
    path("<int:pk>/amend/", views.AmendmentCreateView.as_view(), name="amend"),
    path("<int:pk>/signed-copy/", views.SignedCopyUploadView.as_view(), name="upload_signed"),
    path(
        "<int:pk>/documents/<int:document_pk>/",
        views.DocumentDownloadView.as_view(),
        name="document_download",
    ),
    path(
        "<int:pk>/commitments/<int:commitment_pk>/progress/",
        views.ProgressReportCreateView.as_view(),
        name="report_progress",
    ),
]
