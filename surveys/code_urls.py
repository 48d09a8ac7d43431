"""The short addresses printed on code sheets: `/umfrage/` and `/survey/` (included twice from vielfalt/urls.py
by name, so that the core imports nothing from this app)."""

from django.urls import path

from . import views

urlpatterns = [path("", views.CodeView.as_view(), name="survey_code")]
