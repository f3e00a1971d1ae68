from django.urls import include, path, register_converter

from . import analysis_views, citation_views, corrections, downloads, feeds, search_views, views

register_converter(feeds.FeedFormat, "feed")

app_name = "proceedings"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("forums/", views.ForumListView.as_view(), name="forum-list"),
    path("forums/<slug:slug>/", views.ForumDetailView.as_view(), name="forum-detail"),
    path("forums/<slug:slug>/matrix/", analysis_views.forum_matrix, name="forum-matrix"),
    path("forums/<slug:slug>/balance/", analysis_views.forum_balance, name="forum-balance"),
    path(
        "forums/<slug:forum_slug>/sessions/<slug:slug>/",
        views.SessionDetailView.as_view(),
        name="session-detail",
    ),
    path(
        "forums/<slug:forum_slug>/questions/<slug:slug>/",
        views.QuestionDetailView.as_view(),
        name="question-detail",
    ),
    path(
        "forums/<slug:forum_slug>/themes/<slug:slug>/",
        views.ThemeDetailView.as_view(),
        name="theme-detail",
    ),
    path(
        "forums/<slug:forum_slug>/themes/<slug:slug>/balance/",
        analysis_views.theme_balance,
        name="theme-balance",
    ),
    path("positions/<int:pk>/", views.PositionDetailView.as_view(), name="position-detail"),
    path(
        "positions/<int:pk>/cite.<str:extension>",
        citation_views.position_citation,
        name="position-citation",
    ),
    path(
        "positions/<int:pk>/report/",
        corrections.PositionReportView.as_view(),
        name="position-report",
    ),
    path(
        "positions/<int:pk>/report/thanks/",
        corrections.PositionReportThanksView.as_view(),
        name="position-report-thanks",
    ),
    path("search/", search_views.search_page, name="search"),
    path("compare/", analysis_views.compare, name="compare"),
    path("data/", downloads.DataView.as_view(), name="data"),
    # People, institutions and sectors (speakers/urls.py), in this namespace.
    path("", include("speakers.urls")),
    # Tag slugs keep Chinese characters (TAGGIT_STRIP_UNICODE_WHEN_SLUGIFYING = False).
    path("tags/", views.TagListView.as_view(), name="tag-list"),
    path("tags/<str:slug>/", views.TagDetailView.as_view(), name="tag-detail"),
    path("sources/<slug:slug>/", views.SourceDetailView.as_view(), name="source-detail"),
    # Atom and RSS feeds of new positions (proceedings/feeds.py).
    path("feeds/<feed:feed_format>/", feeds.latest, name="feed-latest"),
    path("forums/<slug:slug>/feed/<feed:feed_format>/", feeds.forum, name="forum-feed"),
    path(
        "forums/<slug:forum_slug>/themes/<slug:slug>/feed/<feed:feed_format>/",
        feeds.theme,
        name="theme-feed",
    ),
    path("speakers/<slug:slug>/feed/<feed:feed_format>/", feeds.speaker, name="speaker-feed"),
    path("search/feed/<feed:feed_format>/", feeds.search_feed, name="search-feed"),
]
