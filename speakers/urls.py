"""
People, institutions and sectors. Included by proceedings/urls.py inside its ``proceedings``
namespace, so the names stay ``proceedings:speaker-detail`` and so on: the site has one namespace
for its public pages whichever app renders them.
"""

from django.urls import path

from . import views

urlpatterns = [
    path("speakers/", views.SpeakerListView.as_view(), name="speaker-list"),
    path("speakers/<slug:slug>/", views.SpeakerDetailView.as_view(), name="speaker-detail"),
    path("institutions/", views.InstitutionListView.as_view(), name="institution-list"),
    path(
        "institutions/<slug:slug>/",
        views.InstitutionDetailView.as_view(),
        name="institution-detail",
    ),
    path("sectors/", views.SectorListView.as_view(), name="sector-list"),
    path("sectors/<slug:sector>/", views.SectorDetailView.as_view(), name="sector-detail"),
]
