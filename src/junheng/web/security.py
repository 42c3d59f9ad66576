"""Security headers on every response, and OPTIONS answered with the methods of the route.

Two pure ASGI middlewares, wrapped around the whole application (outside Starlette's
ServerErrorMiddleware, so even an unexpected 500 carries the headers; see `JunhengApp` in
junheng.web.app):

- `SecurityHeaders` adds a Content-Security-Policy without inline script, X-Frame-Options,
  Referrer-Policy and X-Content-Type-Options to every response that does not set them itself.
  Pages, the API, static files, redirects and error pages get `PAGE_POLICY`; an HTML document
  served inline as a download (the self-assessment report, `report.html`: a standalone document
  with its own stylesheet and embedded images) gets `DOCUMENT_POLICY`, which allows its inline
  style and data: images and no script at all.
- `AllowOptions` answers OPTIONS on a known path with 204 and an `Allow` header listing every
  method that the routes of that path accept (Starlette's own 405 names only the first route's);
  an unknown path goes through to the usual 404. A 405 gets the same `Allow`. HEAD on a path
  with a GET route is that GET without its body (FastAPI's routes do not answer HEAD themselves:
  uptime monitors and link checkers got 405); the GET's dependencies, the permission check
  included, run exactly as for the GET.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The pages' policy. No inline script anywhere: every script is a file under /static (app.js holds
# the confirm dialogs and small form behaviours the templates used to carry as on* attributes).
# Style: stylesheets only from /static; inline style *attributes* are allowed (style-src-attr)
# because ECharts writes them into its own tooltip DOM (the tooltip box's arrow, the colour
# markers of the default axis tooltip) as HTML strings, which a strict style-src would block.
# <style> elements stay refused (style-src-elem falls back to style-src 'self'), our templates
# carry no style attribute (tests/web/test_security_headers.py), and a browser without CSP 3's
# style-src-attr falls back to style-src 'self': it only loses the chart markers' colours.
# img-src data: is for the icons Swagger UI's stylesheet embeds (/api/v1/docs, served from
# /static/vendor/swagger-ui like ECharts: county intranets are often closed, no CDN).
PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])
# A standalone HTML document (report.html, opened in the browser): its own <style> and style
# attributes, images embedded as data: URLs, nothing else; no script, no form, no frame.
DOCUMENT_POLICY = "; ".join([
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])
PROBED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def is_document(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """An HTML file served as such (Content-Disposition: inline; filename=...), not a page."""
    found = {k.lower(): v.lower() for k, v in headers}
    return found.get(b"content-type", b"").startswith(b"text/html") and found.get(
        b"content-disposition", b"").startswith(b"inline")


class SecurityHeaders:
    """Adds the security headers to every HTTP response that does not carry them already."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                policy = DOCUMENT_POLICY if is_document(headers) else PAGE_POLICY
                for name, value in [(b"content-security-policy", policy.encode()), *COMMON_HEADERS]:
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AllowOptions:
    """OPTIONS on a path that some route serves: 204 with `Allow` (every method that a route of
    that path accepts, and OPTIONS). Mounted apps (static files) are asked with HEAD whether the
    path exists there. Anything else (an unknown path) goes on to the application: 404 as usual."""

    def __init__(self, app: ASGIApp, routes: Callable[[], list[BaseRoute]]) -> None:
        self.app, self.routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD" and self.head_is_get(scope):
            await self.app(dict(scope, method="GET"), receive, self.without_body(send))
            return
        if scope["method"] != "OPTIONS":
            await self.app(scope, receive, self.correct_allow(scope, send))
            return
        methods, mounted = await self.allowed(scope)
        if not methods:  # unknown here: the application's 404 (a static file: the one its GET gets)
            await self.app(dict(scope, method="GET") if mounted else scope, receive, send)
            return
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        await send({"type": "http.response.start", "status": 204,
                    "headers": [(b"allow", allow.encode()), (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": b""})

    def head_is_get(self, scope: Scope) -> bool:
        """No route of the path takes HEAD itself (Starlette's own routes and mounts do) and one
        takes GET."""
        for method in ("HEAD", "GET"):
            for route in self.routes():
                if route.matches(dict(scope, method=method))[0] == Match.FULL:
                    return method == "GET" and not isinstance(route, Mount)
        return False

    @staticmethod
    def without_body(send: Send) -> Send:
        """The GET's response head (Content-Length included, as HEAD requires), no body."""

        async def send_head(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        return send_head

    def correct_allow(self, scope: Scope, send: Send) -> Send:
        """A 405 names every method of the path in `Allow` (Starlette names the first route's)."""

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods, _ = await self.allowed(scope)
                if methods:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                    headers.append((b"allow", ", ".join(sorted(methods | {"OPTIONS"})).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        return send_with_allow

    async def allowed(self, scope: Scope) -> tuple[set[str], bool]:
        """Every method for which some route of the path matches fully (FastAPI's included
        routers are asked as a whole: they pick their own route), and whether a mount (static
        files) took the path."""
        methods: set[str] = set()
        mounted = False
        for method in PROBED_METHODS:
            for route in self.routes():
                match, _ = route.matches(dict(scope, method=method))
                if match != Match.FULL:
                    continue
                if isinstance(route, Mount):  # a mount takes every method: ask it whether the path exists
                    mounted = True
                    if method in ("GET", "HEAD") and await self.mount_serves(route, scope):
                        methods.add(method)
                else:
                    methods.add(method)
                break
        if "GET" in methods:
            methods.add("HEAD")  # answered as the GET without its body (head_is_get)
        return methods, mounted

    @staticmethod
    async def mount_serves(route: Mount, scope: Scope) -> bool:
        """Whether the mounted app answers HEAD on this path with a success (the file exists)."""
        _, child = route.matches({**scope, "method": "HEAD"})
        head = {**scope, **child, "method": "HEAD"}
        status: list[int] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        try:
            await route.app(head, receive, send)
        except Exception:  # noqa: BLE001 - a path the mounted app cannot serve is simply not served
            return False
        return bool(status) and status[0] < 400
