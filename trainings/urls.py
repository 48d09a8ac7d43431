from django.urls import path, re_path

from . import views

app_name = "trainings"

urlpatterns = [
    path("", views.CourseListView.as_view(), name="index"),
    path("courses/new/", views.CourseCreateView.as_view(), name="course_create"),
    path("courses/<int:pk>/", views.CourseDetailView.as_view(), name="course_detail"),
    path("courses/<int:course_pk>/edit/", views.CourseUpdateView.as_view(), name="course_update"),
    path(
        "courses/<int:course_pk>/participants/",
        views.CourseParticipantsView.as_view(),
        name="course_participants",
    ),
    path("courses/<int:course_pk>/dates/new/", views.CourseDateCreateView.as_view(), name="date_create"),
    path("dates/<int:pk>/", views.CourseDateDetailView.as_view(), name="date_detail"),
    path("dates/<int:pk>/edit/", views.CourseDateUpdateView.as_view(), name="date_update"),
    path("dates/<int:pk>/cancel/", views.CourseDateCancelView.as_view(), name="date_cancel"),
    path("dates/<int:pk>/calendar.ics", views.CourseDateICSView.as_view(), name="date_ics"),
    path("dates/<int:pk>/enrol/", views.EnrolView.as_view(), name="enrol"),
    path("dates/<int:pk>/enrol/result/", views.EnrolmentResultView.as_view(), name="enrol_result"),
    path("dates/<int:pk>/attendance/", views.AttendanceView.as_view(), name="attendance"),
    path("dates/<int:pk>/sign-in-sheet/", views.SignInSheetView.as_view(), name="sign_in_sheet"),
    path("dates/<int:pk>/certificates/", views.CertificatesBuildView.as_view(), name="certificates_build"),
    path("enrolments/<int:pk>/cancel/", views.EnrolmentCancelView.as_view(), name="enrolment_cancel"),
    path(
        "certificates/<int:pk>/download/",
        views.CertificateDownloadView.as_view(),
        name="certificate_download",
    ),
    path("report/", views.ReportView.as_view(), name="report"),
    path("verify/", views.CertificateVerifyFormView.as_view(), name="verify_form"),
    re_path(r"^verify/(?P<code>[A-Za-z0-9-]{1,20})/$", views.CertificateVerifyView.as_view(), name="verify"),
]
