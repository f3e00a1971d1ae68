"""Routes of the API's version 1, included under ``/api/v1/`` by forum_portal/urls.py."""

from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("", views.APIRootView.as_view(), name="root"),
    path("forums/", views.ForumList.as_view(), name="forum-list"),
    path("forums/<slug:slug>/", views.ForumDetail.as_view(), name="forum-detail"),
    path("forums/<slug:slug>/positions/", views.ForumPositions.as_view(), name="forum-positions"),
    path("sessions/", views.SessionList.as_view(), name="session-list"),
    path(
        "sessions/<slug:forum_slug>/<slug:slug>/",
        views.SessionDetail.as_view(),
        name="session-detail",
    ),
    path(
        "sessions/<slug:forum_slug>/<slug:slug>/positions/",
        views.SessionPositions.as_view(),
        name="session-positions",
    ),
    path("questions/", views.QuestionList.as_view(), name="question-list"),
    path(
        "questions/<slug:forum_slug>/<slug:slug>/",
        views.QuestionDetail.as_view(),
        name="question-detail",
    ),
    path("themes/", views.ThemeList.as_view(), name="theme-list"),
    path("themes/<slug:forum_slug>/<slug:slug>/", views.ThemeDetail.as_view(), name="theme-detail"),
    path(
        "themes/<slug:forum_slug>/<slug:slug>/positions/",
        views.ThemePositions.as_view(),
        name="theme-positions",
    ),
    path("speakers/", views.SpeakerList.as_view(), name="speaker-list"),
    path("speakers/<slug:slug>/", views.SpeakerDetail.as_view(), name="speaker-detail"),
    path(
        "speakers/<slug:slug>/positions/",
        views.SpeakerPositions.as_view(),
        name="speaker-positions",
    ),
    path("institutions/", views.InstitutionList.as_view(), name="institution-list"),
    path(
        "institutions/<slug:slug>/",
        views.InstitutionDetail.as_view(),
        name="institution-detail",
    ),
    path(
        "institutions/<slug:slug>/positions/",
        views.InstitutionPositions.as_view(),
        name="institution-positions",
    ),
    path("positions/", views.PositionList.as_view(), name="position-list"),
    path("positions/<int:pk>/", views.PositionDetail.as_view(), name="position-detail"),
    path("search/", views.SearchView.as_view(), name="search"),
]
