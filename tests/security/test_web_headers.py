"""Security headers on every response of the project's web server: pages, static files, errors
(404, 405, 500, 413) and the adviser console, which may never be framed."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from bot.web.app import create_app


def fetch_all(settings, requests):
    async def run():
        app = create_app(settings)

        async def boom(_):
            raise RuntimeError("a bug")

        app.router.add_get("/boom-for-tests", boom)
        async with TestClient(TestServer(app)) as client:
            out = {}
            for method, path, kwargs in requests:
                async with client.request(method, path, allow_redirects=False, **kwargs) as r:
                    out[(method, path)] = (r.status, dict(r.headers), await r.read())
            return out

    return asyncio.run(run())


REQUESTS = [
    ("GET", "/", {}),
    ("GET", "/guidance", {}),
    ("GET", "/guidance/no-such-page", {}),
    ("GET", "/healthz", {}),
    ("GET", "/static/widget/widget.js", {}),
    ("GET", "/static/widget/widget.css", {}),
    ("GET", "/static/../secrets", {}),
    ("GET", "/nowhere", {}),
    ("POST", "/guidance", {}),
    ("GET", "/boom-for-tests", {}),
    ("POST", "/console/login?big=1", {"data": {"email": "x" * (70 * 1024)}}),
    ("POST", "/console/login?first=1", {"data": {"email": "a@b.c", "password": "x"}}),
    ("GET", "/console/login", {}),
    ("GET", "/console", {}),
    ("GET", "/console/api/cases", {}),
    ("POST", "/console/login", {"data": {"email": "a@b.c"}}),
    ("GET", "/console/nothing", {}),
]


@pytest.fixture(scope="module")
def responses(tmp_path_factory):
    settings = Settings.from_env(
        env={}, var_dir=tmp_path_factory.mktemp("var"), allowed_origins="https://council.example, https://coop.example"
    )
    return fetch_all(settings, REQUESTS)


@pytest.mark.parametrize("method,path", [(m, p) for m, p, _ in REQUESTS])
def test_every_response_has_the_security_headers(responses, method, path):
    status, headers, _ = responses[(method, path)]
    csp = headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, (status, csp)
    assert "default-src 'self'" in csp and "base-uri 'none'" in csp and "form-action 'self'" in csp
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "same-origin"
    if path.startswith("/console"):
        assert "frame-ancestors 'none'" in csp and headers.get("X-Frame-Options") == "DENY"
        assert headers.get("Cache-Control") == "no-store"
    else:
        assert "frame-ancestors https://council.example https://coop.example" in " ".join(csp.split())


def test_the_statuses_are_what_they_should_be(responses):
    status = {k: v[0] for k, v in responses.items()}
    assert status[("GET", "/static/widget/widget.js")] == 200
    assert status[("GET", "/static/../secrets")] in (403, 404)
    assert status[("GET", "/nowhere")] == 404 and status[("POST", "/guidance")] == 405
    assert status[("POST", "/console/login")] == 403  # no CSRF cookie: the form is shown again
    assert status[("POST", "/console/login?big=1")] == 413
    assert status[("POST", "/console/login?first=1")] == 403, "no sign-in without the form's CSRF cookie"
    assert status[("GET", "/console")] == 303 and status[("GET", "/console/api/cases")] == 401


def test_an_error_page_says_sorry_without_a_traceback(responses):
    status, headers, body = responses[("GET", "/boom-for-tests")]
    assert status == 500 and b"a bug" not in body and b"Traceback" not in body
    assert headers["Content-Type"].startswith("application/json")


def test_the_widget_stays_embeddable_for_any_site_in_the_one_machine_demo(tmp_path):
    settings = Settings.from_env(env={}, var_dir=tmp_path)
    out = fetch_all(settings, [("GET", "/static/widget/widget.js", {}), ("GET", "/console/login", {})])
    status, headers, _ = out[("GET", "/static/widget/widget.js")]
    assert status == 200 and "frame-ancestors *" in headers["Content-Security-Policy"]
    assert "Cross-Origin-Resource-Policy" not in headers, "a script tag on another site must load it"
    assert "frame-ancestors 'none'" in out[("GET", "/console/login")][1]["Content-Security-Policy"]
