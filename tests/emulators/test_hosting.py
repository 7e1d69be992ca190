"""The local Hosting server: firebase.json's hosting section applied as Firebase Hosting does
(reserved URLs, static files first, rewrites in order, function rewrites proxied with the
original path), and the project's own firebase.json covering every HTTP function."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from emulators.hosting.config import HostingConfig, HostingConfigError, glob_to_regex
from emulators.hosting.server import HostingApp, HostingServer, emulator_init_json
from emulators.stack.ports import free_port
from tests.fakes.http_server import FakeHttpServer, FakeResponse

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30


@pytest.mark.parametrize(
    ("glob", "matching", "not_matching"),
    [
        ("/api/tasks", ["/api/tasks"], ["/api/tasks/x", "/api/tasksx", "/api/task"]),
        (
            "/api/tasks/**",
            ["/api/tasks", "/api/tasks/", "/api/tasks/abc", "/api/tasks/abc/cancel"],
            ["/api/tasksx", "/api/task_groups/x", "/x/api/tasks/y"],
        ),
        ("**", ["/", "/tasks", "/tasks/abc/def"], []),
        ("/assets/*.js", ["/assets/a.js"], ["/assets/x/a.js", "/assets/a.css"]),
        ("**/*.html", ["/index.html", "/a/b/c.html"], ["/index.htm", "/a/html"]),
        ("/img/?.png", ["/img/a.png"], ["/img/ab.png", "/img//.png"]),
        ("/f.{js,css}", ["/f.js", "/f.css"], ["/f.png"]),
        ("/f.@(js|css)", ["/f.js", "/f.css"], ["/f.png"]),
        ("/a/**/z", ["/a/z", "/a/b/z", "/a/b/c/z"], ["/a/z/b"]),
    ],
)
def test_globs_match_as_hosting_documents(
    glob: str, matching: list[str], not_matching: list[str]
) -> None:
    pattern = glob_to_regex(glob)
    for path in matching:
        assert pattern.match(path), (glob, path)
    for path in not_matching:
        assert not pattern.match(path), (glob, path)


def test_the_project_firebase_json_rewrites_every_http_function_and_falls_back_to_the_app() -> None:
    config = HostingConfig.from_firebase_json(ROOT / "firebase.json")
    source = (ROOT / "functions" / "main.py").read_text(encoding="utf-8")
    # Every `@https_fn.on_request(...)` decorates the next `def <name>`.
    http_functions = set()
    lines = source.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("@https_fn.on_request"):
            following = next(x for x in lines[index + 1 :] if x.startswith("def "))
            http_functions.add(following.split()[1].split("(")[0])
    assert http_functions, "no HTTP function found in functions/main.py"
    assert config.functions() == http_functions
    for name in http_functions:
        for path in (f"/api/{name}", f"/api/{name}/", f"/api/{name}/abc/def"):
            rewrite = config.rewrite_for(path)
            assert rewrite is not None and rewrite.function == name, path
            assert rewrite.region == "us-central1"
    for app_route in ("/", "/tasks", "/tasks/abc", "/groups/g1", "/settings/keys"):
        rewrite = config.rewrite_for(app_route)
        assert rewrite is not None and rewrite.destination == "/index.html", app_route
    assert config.public == (ROOT / "web" / "dist").resolve()


def test_a_config_with_keys_it_does_not_apply_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HostingConfigError, match="cleanUrls"):
        HostingConfig.from_section({"public": "p", "cleanUrls": True}, tmp_path)
    with pytest.raises(HostingConfigError, match="rewrite"):
        HostingConfig.from_section(
            {"public": "p", "rewrites": [{"source": "/x", "run": {"serviceId": "s"}}]}, tmp_path
        )


# ----------------------------------------------------------------------------- the server
@pytest.fixture
def upstream() -> Iterator[FakeHttpServer]:
    with FakeHttpServer(lambda request: FakeResponse.json({"path": request.path})) as server:
        yield server


@pytest.fixture
def site(tmp_path: Path, upstream: FakeHttpServer) -> Iterator[str]:
    public = tmp_path / "public"
    (public / "assets").mkdir(parents=True)
    (public / "index.html").write_text("<!doctype html><title>app</title>")
    (public / "assets" / "app-1234.js").write_text("console.log('app')")
    (public / "docs").mkdir()
    (public / "docs" / "index.html").write_text("docs")
    (public / ".env").write_text("SECRET=1")
    (tmp_path / "secret.txt").write_text("outside public")
    firebase_json = tmp_path / "firebase.json"
    firebase_json.write_text(
        json.dumps(
            {
                "hosting": {
                    "public": "public",
                    "ignore": ["firebase.json", "**/.*"],
                    "redirects": [{"source": "/old", "destination": "/docs", "type": 302}],
                    "headers": [
                        {
                            "source": "**",
                            "headers": [{"key": "Cache-Control", "value": "no-cache"}],
                        },
                        {
                            "source": "/assets/**",
                            "headers": [{"key": "Cache-Control", "value": "immutable"}],
                        },
                    ],
                    "rewrites": [
                        {"source": "/api/tasks", "function": {"functionId": "tasks"}},
                        {"source": "/api/tasks/**", "function": {"functionId": "tasks"}},
                        {"source": "/api/eu/**", "function": {"functionId": "eu", "region": "x1"}},
                        {"source": "**", "destination": "/index.html"},
                    ],
                }
            }
        )
    )
    app = HostingApp(
        HostingConfig.from_firebase_json(firebase_json),
        functions_url=upstream.url,
        project="demo-x",
        init_json=emulator_init_json("demo-x", "127.0.0.1:9099", "127.0.0.1:8080"),
    )
    server = HostingServer(app, port=0).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_static_files_directories_and_the_app_fallback(site: str) -> None:
    asset = requests.get(f"{site}/assets/app-1234.js", timeout=TIMEOUT)
    assert asset.status_code == 200 and asset.text == "console.log('app')"
    assert asset.headers["Content-Type"].startswith("text/javascript")
    assert asset.headers["Cache-Control"] == "immutable"
    assert requests.get(f"{site}/docs", timeout=TIMEOUT).text == "docs"
    for route in ("/", "/tasks", "/tasks/abc/def", "/index.html"):
        page = requests.get(site + route, timeout=TIMEOUT)
        assert page.status_code == 200 and "<title>app</title>" in page.text, route
        assert page.headers["Cache-Control"] == "no-cache"
    etag = asset.headers["ETag"]
    again = requests.get(
        f"{site}/assets/app-1234.js", headers={"If-None-Match": etag}, timeout=TIMEOUT
    )
    assert again.status_code == 304 and again.content == b""


def test_ignored_and_outside_files_are_never_served(site: str) -> None:
    for path in ("/.env", "/../secret.txt", "/%2e%2e/secret.txt", "/firebase.json"):
        response = requests.get(site + path, timeout=TIMEOUT)
        assert "SECRET" not in response.text and "outside public" not in response.text, path
        # Not a file of the site: the app's fallback answers, as Hosting's `**` rewrite would.
        assert "<title>app</title>" in response.text, path


def test_redirects_come_before_files_and_rewrites(site: str) -> None:
    response = requests.get(f"{site}/old", allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302 and response.headers["Location"] == "/docs"


def test_init_json_names_the_project_and_the_emulators(site: str) -> None:
    body = requests.get(f"{site}/__/firebase/init.json", timeout=TIMEOUT).json()
    assert body["projectId"] == "demo-x"
    assert body["emulators"] == {"auth": "http://127.0.0.1:9099", "firestore": "127.0.0.1:8080"}
    assert requests.get(f"{site}/__/other", timeout=TIMEOUT).status_code == 404


def test_function_rewrites_proxy_the_original_path_method_body_and_headers(
    site: str, upstream: FakeHttpServer
) -> None:
    upstream.enqueue(
        FakeResponse.json(
            {"success": False}, status=429, headers={"Retry-After": "7", "RateLimit": "r=0"}
        )
    )
    response = requests.post(
        f"{site}/api/tasks/abc/cancel?x=1&y=%2F",
        json={"reason": "no"},
        headers={"Authorization": "Bearer token-1", "Idempotency-Key": "k1"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7" and response.headers["RateLimit"] == "r=0"
    sent = upstream.requests[-1]
    assert sent.method == "POST"
    assert sent.path == "/demo-x/us-central1/tasks/api/tasks/abc/cancel"
    assert sent.query == {"x": ["1"], "y": ["/"]}
    assert json.loads(sent.body) == {"reason": "no"}
    assert sent.headers["authorization"] == "Bearer token-1"
    assert sent.headers["idempotency-key"] == "k1"
    assert sent.headers["x-forwarded-for"] == "127.0.0.1"
    assert "x-forwarded-host" in sent.headers

    bare = requests.get(f"{site}/api/tasks", timeout=TIMEOUT)
    assert bare.json() == {"path": "/demo-x/us-central1/tasks/api/tasks"}
    regional = requests.get(f"{site}/api/eu/thing", timeout=TIMEOUT)
    assert regional.json() == {"path": "/demo-x/x1/eu/api/eu/thing"}


def test_encoded_function_bodies_pass_through_unchanged(
    site: str, upstream: FakeHttpServer
) -> None:
    payload = gzip.compress(json.dumps({"big": "x" * 5000}).encode())
    upstream.enqueue(
        FakeResponse(
            200,
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
            payload,
        )
    )
    raw = requests.get(f"{site}/api/tasks/big", stream=True, timeout=TIMEOUT)
    assert raw.headers["Content-Encoding"] == "gzip"
    assert raw.raw.read(decode_content=False) == payload


def test_an_unreachable_function_is_a_502_in_the_api_envelope(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    config = HostingConfig.from_section(
        {"public": "public", "rewrites": [{"source": "/api/tasks/**", "function": "tasks"}]},
        tmp_path,
    )
    dead = f"http://127.0.0.1:{free_port()}"
    server = HostingServer(HostingApp(config, dead, "demo-x"), port=0).start()
    try:
        response = requests.get(f"{server.url}/api/tasks/x", timeout=TIMEOUT)
        body: dict[str, Any] = response.json()
        assert response.status_code == 502
        assert body["success"] is False and body["error"]["code"] == "unavailable"
        missing = requests.get(f"{server.url}/nothing", timeout=TIMEOUT)
        assert missing.status_code == 404
    finally:
        server.stop()
