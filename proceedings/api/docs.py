"""The API's documentation page: Swagger UI from the sidecar's static files, under the CSP."""

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI: the page, then its start-up script from the same URL (``?script``).

    The site's Content-Security-Policy applies unchanged: the split view serves the start-up
    script as a file rather than inline, and our template (templates/api/swagger_ui.html) moves
    drf-spectacular's inline <style> to static/css/api-docs.css. Swagger UI sets element styles
    from script, which the CSP allows (tests/proceedings/test_api_browser.py checks it in
    Chromium).
    """

    template_name = "api/swagger_ui.html"
    title = "Forum Portal API"
