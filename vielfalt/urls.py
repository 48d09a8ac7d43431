from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.decorators.http import require_http_methods

from . import password_reset, second_factor, views
from .forms import LoginForm

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    # Early: the resolver tries the patterns in order, and on launch morning most requests are a survey's.
    path("surveys/", include("surveys.urls")),
    path("accounts/second-factor/", second_factor.VerifyView.as_view(), name="second_factor_verify"),
    path("accounts/second-factor/setup/", second_factor.SetupView.as_view(), name="second_factor_setup"),
    path("accounts/session/keep-alive/", views.SessionKeepAliveView.as_view(), name="session_keepalive"),
    path("accounts/second-factor/manage/", second_factor.ManageView.as_view(), name="second_factor_manage"),
    # Before the library's own view of the same address: a passkey login ends as a code login does.
    path(
        "accounts/passkeys/authentication/complete/",
        second_factor.PasskeyCompleteView.as_view(),
        name="second_factor_passkey_complete",
    ),
    # Before the library's own: a passkey registered is recorded and told to its holder.
    path(
        "accounts/passkeys/registration/complete/",
        second_factor.PasskeyRegisteredView.as_view(),
        name="second_factor_passkey_registered",
    ),
    path("accounts/passkeys/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    # Before the library's own: its view renders the invalid-link page whatever the method (TRACE, DELETE).
    path(
        "accounts/reset/<uidb64>/<token>/",
        require_http_methods(["GET", "HEAD", "POST"])(password_reset.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    # Before the library's own: a changed password is recorded and told to its holder (vielfalt.account_events).
    path("accounts/password_change/", password_reset.PasswordChangeView.as_view(), name="password_change"),
    # Before the library's own: asked for in the background and throttled (vielfalt.password_reset).
    path("accounts/password_reset/", password_reset.PasswordResetView.as_view(), name="password_reset"),
    # Before the library's own: the holder of a deactivated account is told so (vielfalt.forms.LoginForm).
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("employees/", views.EmployeeListView.as_view(), name="employee_list"),
    path("employees/new/", views.EmployeeCreateView.as_view(), name="employee_create"),
    path("org-unit-choices/", views.OrgUnitChoicesView.as_view(), name="org_unit_choices"),
    path("employees/import/", views.EmployeeImportView.as_view(), name="employee_import"),
    re_path(
        r"^employees/export\.(?P<export_format>csv|xlsx)$",
        views.EmployeeExportView.as_view(),
        name="employee_export",
    ),
    path("employees/<int:pk>/", views.EmployeeUpdateView.as_view(), name="employee_update"),
    path(
        "employees/<int:pk>/deactivate/", views.EmployeeDeactivateView.as_view(), name="employee_deactivate"
    ),
    path("audit/", views.AuditLogView.as_view(), name="audit_log"),
    path("jobs/<uuid:pk>/", views.JobDetailView.as_view(), name="job_detail"),
    path("jobs/<uuid:pk>/retry/", views.JobRetryView.as_view(), name="job_retry"),
    path("jobs/<uuid:pk>/download/", views.JobDownloadView.as_view(), name="job_download"),
    path(
        "accessibility/",
        views.PublicPageView.as_view(template_name="vielfalt/accessibility.html"),
        name="accessibility",
    ),
    path("documents/check/", views.DocumentCheckView.as_view(), name="document_check"),
    path("imprint/", views.PublicPageView.as_view(template_name="vielfalt/imprint.html"), name="imprint"),
    path("privacy/", views.PublicPageView.as_view(template_name="vielfalt/privacy.html"), name="privacy"),
    path("", include("vielfalt.programme.urls")),
    path("partnerships/", include("partnerships.urls")),
    path("network/", include("partnerships.network.urls")),
    path("trainings/", include("trainings.urls")),
    # Typing a survey code from paper; reverse("survey_code") gives the last one, /umfrage/.
    path("survey/", include("surveys.code_urls")),
    path("umfrage/", include("surveys.code_urls")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
