from django.urls import path

from . import views

app_name = "network"

urlpatterns = [
    path("", views.NetworkHomeView.as_view(), name="index"),
    path("start/", views.StartView.as_view(), name="start"),
    path("partners/", views.PartnerListView.as_view(), name="partner_list"),
    path("partners/<slug:slug>/", views.PartnerDetailView.as_view(), name="partner_detail"),
    path("partners/<slug:slug>/edit/", views.ProfileEditView.as_view(), name="profile_edit"),
    path("contacts/<int:pk>/delete/", views.ContactDeleteView.as_view(), name="contact_delete"),
    path("practice/", views.PracticeListView.as_view(), name="practice_list"),
    path("practice/new/", views.PracticeCreateView.as_view(), name="practice_create"),
    path("practice/<int:pk>/", views.PracticeDetailView.as_view(), name="practice_detail"),
    path("practice/<int:pk>/edit/", views.PracticeEditView.as_view(), name="practice_edit"),
    path("practice/<int:pk>/status/", views.PracticeTransitionView.as_view(), name="practice_transition"),
    path("practice/<int:pk>/attachments/", views.AttachmentUploadView.as_view(), name="attachment_upload"),
    path(
        "practice/<int:pk>/attachments/<int:attachment_pk>/",
        views.AttachmentDownloadView.as_view(),
        name="attachment_download",
    ),
    path(
        "practice/<int:pk>/attachments/<int:attachment_pk>/delete/",
        views.AttachmentDeleteView.as_view(),
        name="attachment_delete",
    ),
    path("meetings/", views.MeetingListView.as_view(), name="meeting_list"),
    path("meetings/new/", views.MeetingCreateView.as_view(), name="meeting_create"),
    path("meetings/<int:pk>/", views.MeetingDetailView.as_view(), name="meeting_detail"),
    path("meetings/<int:pk>/edit/", views.MeetingEditView.as_view(), name="meeting_edit"),
    path("meetings/<int:pk>/cancel/", views.MeetingCancelView.as_view(), name="meeting_cancel"),
    path("meetings/<int:pk>/register/", views.MeetingRegisterView.as_view(), name="meeting_register"),
    path(
        "meetings/<int:pk>/registrations/<int:registration_pk>/cancel/",
        views.RegistrationCancelView.as_view(),
        name="registration_cancel",
    ),
    path("meetings/<int:pk>/calendar.ics", views.MeetingIcsView.as_view(), name="meeting_ics"),
    path(
        "meetings/<int:pk>/documents/",
        views.MeetingDocumentUploadView.as_view(),
        name="meeting_document_upload",
    ),
    path(
        "meetings/<int:pk>/documents/<int:document_pk>/",
        views.MeetingDocumentDownloadView.as_view(),
        name="meeting_document_download",
    ),
    path(
        "meetings/<int:pk>/documents/<int:document_pk>/delete/",
        views.MeetingDocumentDeleteView.as_view(),
        name="meeting_document_delete",
    ),
    path(
        "meetings/<int:pk>/participants/",
        views.MeetingParticipantsView.as_view(),
        name="meeting_participants",
    ),
    path("questions/", views.QuestionListView.as_view(), name="question_list"),
    path("questions/new/", views.QuestionCreateView.as_view(), name="question_create"),
    path("questions/<int:pk>/", views.QuestionDetailView.as_view(), name="question_detail"),
    path("questions/<int:pk>/edit/", views.QuestionEditView.as_view(), name="question_edit"),
    path("questions/<int:pk>/delete/", views.QuestionDeleteView.as_view(), name="question_delete"),
    path("questions/<int:pk>/answer/", views.AnswerCreateView.as_view(), name="answer_create"),
    path("answers/<int:pk>/edit/", views.AnswerEditView.as_view(), name="answer_edit"),
    path("answers/<int:pk>/delete/", views.AnswerDeleteView.as_view(), name="answer_delete"),
    path("questions/<int:pk>/helpful/", views.HelpfulAnswerView.as_view(), name="answer_helpful"),
    path(
        "questions/<int:pk>/to-practice/", views.QuestionToPracticeView.as_view(), name="question_to_practice"
    ),
    path("mail/", views.MailSettingsView.as_view(), name="mail_settings"),
    path("unsubscribe/<str:token>/", views.UnsubscribeView.as_view(), name="unsubscribe"),
]
