"""Routes of the downloads (not pages: no language prefix), under ``/downloads/``."""

from django.urls import path

from . import downloads

app_name = "downloads"

urlpatterns = [
    path("search.csv", downloads.search_csv, name="search-csv"),
    path("forums/<slug:slug>.csv", downloads.forum_csv, name="forum-csv"),
    path("themes/<slug:forum_slug>/<slug:slug>.csv", downloads.theme_csv, name="theme-csv"),
    path("speakers/<slug:slug>.csv", downloads.speaker_csv, name="speaker-csv"),
    path("datasets/all.json", downloads.dataset, name="dataset-all"),
    path("datasets/forums/<slug:forum_slug>.json", downloads.dataset, name="dataset-forum"),
]
