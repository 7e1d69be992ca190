"""The web dashboard end to end: the built app (web/dist) served by the stack's Hosting with
firebase.json's rewrites, in Debian's Chromium, signed in through the Auth emulator, live from
the local Firestore (WebChannel, under the security rules), acting through the HTTP API.

Each screen is scanned with axe-core (no serious or critical violation) and photographed into
web/test-results/screenshots/ (test artefacts)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures.browser import missing, wait_until
from tests.fixtures.stack import DEFAULT_PASSWORD, PlatformHandle

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "web" / "dist" / "index.html"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "web" / "test-results" / "screenshots"
LIVE_TIMEOUT_MS = 60_000
COMPLETED_FILL = "rgb(21,128,61)"  # STATUS_STYLE.completed.fill (#15803d) as cytoscape reports it
# Agent knobs of the offline `scripted` provider, passed as task inputs.
SLOW = '{"providerOptions": {"latency": 0.6, "steps": 2}}'


class Dashboard:
    """A signed-in (or not yet) page of the app with helpers for what the tests do."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, path: str = "/") -> None:
        self.page.goto(self.base_url + path)

    def go(self, path: str) -> None:
        """In-app navigation (history API), as a click on a link: no reload."""
        self.page.evaluate(
            "path => { history.pushState({}, '', path);"
            " dispatchEvent(new PopStateEvent('popstate')); }",
            path,
        )

    def sign_up(self, email: str, password: str = DEFAULT_PASSWORD) -> None:
        self.open("/")
        self.page.get_by_role("button", name="Create one").click()
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign up").click()
        self.page.locator(".dashboard[data-ready=true]").wait_for(timeout=LIVE_TIMEOUT_MS)

    def sign_in(self, email: str, password: str = DEFAULT_PASSWORD) -> None:
        self.open("/")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.locator(".dashboard[data-ready=true]").wait_for(timeout=LIVE_TIMEOUT_MS)

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        self.page.get_by_role("heading", name="Sign in").wait_for(timeout=LIVE_TIMEOUT_MS)

    def create_task(self, title: str, description: str, inputs: str = "") -> str:
        self.go("/tasks/new")
        self.page.get_by_label("Title").fill(title)
        self.page.get_by_label("Description").fill(description)
        if inputs:
            self.page.get_by_label("Inputs (JSON object, optional)").fill(inputs)
        self.page.get_by_role("button", name="Create task").click()
        self.page.locator(".task-detail").wait_for(timeout=LIVE_TIMEOUT_MS)
        return self.page.url.rsplit("/", 1)[1]

    def task_status(self, status: str, timeout: float = LIVE_TIMEOUT_MS) -> None:
        self.page.locator(f".task-detail[data-status={status}]").wait_for(timeout=timeout)

    def mark_document(self) -> None:
        """A marker a reload would erase."""
        self.page.evaluate("window.__noReload = true")

    def assert_not_reloaded(self) -> None:
        assert self.page.evaluate("window.__noReload === true"), "the page was reloaded"

    def axe(self, name: str) -> None:
        """No serious or critical axe-core violation on the current screen; a screenshot."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        violations = self.page.evaluate(
            """async () => {
                const result = await axe.run(document, {resultTypes: ['violations']});
                return result.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
            }"""
        )
        assert violations == [], f"{name}: {violations}"


@pytest.fixture(scope="session")
def web_build() -> Path:
    if not BUILD.is_file():
        missing(f"{BUILD} is missing: build the web app first (`make web`; `make test` does)")
    if not AXE.is_file():
        missing(f"{AXE} is missing (run `make setup`)")
    return BUILD


@pytest.fixture
def app(
    chromium: Any, stack: PlatformHandle, web_build: Path, request: pytest.FixtureRequest
) -> Iterator[Dashboard]:
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    dashboard = Dashboard(context.new_page(), stack.hosting_url)
    try:
        yield dashboard
    finally:
        # What the page showed last: the first thing to look at when a test failed.
        SHOTS.mkdir(parents=True, exist_ok=True)
        dashboard.page.screenshot(path=str(SHOTS / f"last-{request.node.name}.png"), full_page=True)
        context.close()
    assert not dashboard.errors, f"uncaught errors in the page: {dashboard.errors}"


def _email() -> str:
    return f"web-{uuid.uuid4().hex[:10]}@example.com"


def test_sign_up_create_a_task_and_watch_it_complete_without_reload(app: Dashboard) -> None:
    page = app.page
    app.open("/")
    app.axe("sign-in")
    app.sign_up(_email())
    app.mark_document()
    task_id = app.create_task("Write a haiku", "A haiku about serverless functions", SLOW)
    # Live: queued → in progress → completed arrive through the listeners, no reload.
    app.task_status("in_progress")
    app.task_status("completed")
    app.assert_not_reloaded()
    timeline = page.locator(".timeline li")
    wait_until(lambda: timeline.count() >= 3, what="the timeline's events")
    kinds = [timeline.nth(i).get_attribute("data-kind") for i in range(timeline.count())]
    assert "step" in kinds and "completed" in kinds, kinds
    assert page.locator(".output").inner_text().strip().startswith("{")
    app.axe("task-detail")
    app.go("/")
    recent = page.locator(f".recent li[data-task='{task_id}']")
    recent.wait_for(timeout=LIVE_TIMEOUT_MS)
    assert "completed" in recent.inner_text()
    page.locator("[data-stat=completed] .stat-value", has_text="1").wait_for(
        timeout=LIVE_TIMEOUT_MS
    )
    assert page.locator("[data-stat=success-rate] .stat-value").inner_text() == "100%"
    app.assert_not_reloaded()
    # Idle, the page calls nothing: live data comes from listeners, not polling.
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/" in r.url else None)
    time.sleep(4)
    assert api_calls == [], api_calls
    app.axe("dashboard")
    # Responsive down to a laptop: nothing wider than the window.
    page.set_viewport_size({"width": 1024, "height": 700})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    app.axe("dashboard-1024")


def test_a_three_level_group_turns_green_in_dependency_order(app: Dashboard) -> None:
    page = app.page
    app.sign_up(_email())
    app.go("/groups/new")
    page.get_by_role("button", name="Fill in a 3-level example").click()
    page.get_by_label("Group name").fill("Release plan")
    for row in range(4):
        page.locator(f"[data-row='{row}']").get_by_label("Inputs (JSON)").fill(SLOW)
    app.axe("group-form")
    page.get_by_role("button", name="Create group").click()
    page.locator("[data-graph][data-drawn=true]").wait_for(timeout=LIVE_TIMEOUT_MS)
    page.locator(".group-view[data-status=completed]").wait_for(timeout=120_000)
    refs = {
        page.locator("tr[data-task]").nth(i).get_attribute("data-task"): page.locator(
            "tr[data-task]"
        )
        .nth(i)
        .get_attribute("data-ref")
        for i in range(4)
    }
    updates = page.evaluate("window.__aideGraphUpdates || []")
    became: dict[str, dict[str, float]] = {}
    for update in updates:
        became.setdefault(refs[update["id"]], {})[update["status"]] = update["at"]
    # Every node was drawn before it finished and changed colour live, level by level.
    for ref in ("research", "design-a", "design-b", "review"):
        assert "completed" in became.get(ref, {}), (ref, became)
    for ref in ("design-a", "design-b"):
        assert became[ref]["completed"] > became["research"]["completed"]
        started = became[ref].get("in_progress") or became[ref].get("queued")
        assert started is None or started >= became["research"]["completed"]
    assert became["review"]["completed"] > max(
        became["design-a"]["completed"], became["design-b"]["completed"]
    )
    colours = page.locator("[data-graph]").evaluate(
        "el => el.__cy.nodes().map(n => n.style('background-color').replace(/ /g, ''))"
    )
    assert colours == [COMPLETED_FILL] * 4, colours
    app.axe("task-group")
    # Click-through from the table (the keyboard path; a node tap navigates the same way).
    page.locator("tr[data-ref=review] a").click()
    page.locator(".task-detail[data-status=completed]").wait_for(timeout=LIVE_TIMEOUT_MS)
    app.go("/groups")
    page.locator("tr[data-group]").first.wait_for(timeout=LIVE_TIMEOUT_MS)
    app.axe("task-groups")


def test_cancel_a_running_task_and_retry_a_failed_one(app: Dashboard) -> None:
    page = app.page
    app.sign_up(_email())
    running = app.create_task(
        "A long analysis",
        "Analyse the repository slowly",
        '{"providerOptions": {"latency": 2, "steps": 10}}',
    )
    app.task_status("in_progress")
    page.get_by_role("button", name="Cancel task").click()
    app.task_status("cancelled")
    events_after_cancel = page.locator(".timeline li").count()
    time.sleep(3)  # longer than a step: a run that had not stopped would append an event
    assert page.locator(".timeline li").count() == events_after_cancel
    assert page.get_by_role("button", name="Cancel task").count() == 0

    failing = app.create_task(
        "Doomed analysis",
        "This one fails on its first step",
        '{"providerOptions": {"fail_permanent": true}}',
    )
    app.task_status("failed")
    assert page.locator("[data-task-error]").inner_text()
    page.get_by_role("button", name="Retry task").click()
    page.locator(".timeline li[data-kind=retried]").wait_for(timeout=LIVE_TIMEOUT_MS)
    app.task_status("failed")  # the same inputs fail again: a second, complete attempt
    assert failing != running
    app.go("/")
    page.locator(".alert[data-kind=failed_task]").first.wait_for(timeout=LIVE_TIMEOUT_MS)
    app.go("/tasks?status=cancelled")
    page.locator(f"tr[data-task='{running}']").wait_for(timeout=LIVE_TIMEOUT_MS)
    assert page.locator("tr[data-task]").count() == 1
    app.axe("tasks")


def test_a_large_output_is_downloaded_and_a_group_is_cancelled(
    app: Dashboard, stack: PlatformHandle
) -> None:
    page = app.page
    app.sign_up(_email())
    big = app.create_task(
        "A long report",
        "Write a report too large to keep inline",
        '{"providerOptions": {"steps": 1, "output_bytes": 300000}}',
    )
    app.task_status("completed")
    button = page.get_by_role("button", name=re.compile(r"^Download the output"))
    button.wait_for(timeout=LIVE_TIMEOUT_MS)
    with page.expect_download() as download:
        button.click()
    path = download.value.path()
    assert path is not None and Path(path).stat().st_size > 300_000
    assert download.value.suggested_filename == f"task-{big}-output.json"

    app.go("/groups/new")
    page.get_by_role("button", name="Fill in a 3-level example").click()
    for row in range(4):
        page.locator(f"[data-row='{row}']").get_by_label("Inputs (JSON)").fill(
            '{"providerOptions": {"latency": 2, "steps": 10}}'
        )
    page.get_by_role("button", name="Create group").click()
    page.locator("tr[data-ref=research][data-status=in_progress]").wait_for(timeout=LIVE_TIMEOUT_MS)
    page.get_by_role("button", name="Cancel group").click()
    page.locator(".group-view[data-status=cancelled]").wait_for(timeout=LIVE_TIMEOUT_MS)
    for ref in ("research", "design-a", "design-b", "review"):
        page.locator(f"tr[data-ref='{ref}'][data-status=cancelled]").wait_for(
            timeout=LIVE_TIMEOUT_MS
        )
    assert page.get_by_role("button", name="Cancel group").count() == 0


def test_a_failed_group_is_retried_in_one_request(app: Dashboard) -> None:
    page = app.page
    app.sign_up(_email())
    app.go("/groups/new")
    page.get_by_role("button", name="Fill in a 3-level example").click()
    page.locator("[data-row='0']").get_by_label("Inputs (JSON)").fill(
        '{"providerOptions": {"fail_permanent": true}}'
    )
    page.get_by_role("button", name="Create group").click()
    page.locator(".group-view[data-status=failed]").wait_for(timeout=LIVE_TIMEOUT_MS)
    page.locator("tr[data-ref='review'][data-status=cancelled]").wait_for(timeout=LIVE_TIMEOUT_MS)

    with page.expect_response(lambda r: r.url.endswith("/retry")) as answer:
        page.get_by_role("button", name="Retry 1 failed").click()
    response = answer.value
    assert response.request.method == "POST" and "/task_groups/" in response.url, response.url
    assert response.status == 200, response.text()
    # The failed task is queued again and the dependents its failure cancelled are pending.
    assert response.json()["data"]["taskGroup"]["status"] == "running"
    # The same inputs fail again: the group ends failed once more, after a second attempt.
    page.locator(".group-view[data-status=failed]").wait_for(timeout=LIVE_TIMEOUT_MS)
    app.axe("task-group-retried")


def test_task_list_pages_by_cursor_and_filters(app: Dashboard, stack: PlatformHandle) -> None:
    import datetime as dt

    page = app.page
    app.sign_up(_email())
    app.go("/projects")
    uid = page.locator("[data-my-uid]").inner_text()
    now = dt.datetime.now(dt.UTC)
    batch = stack.db.batch()
    for n in range(30):  # 30 tasks, the first 20 created in the same instant (cursor ties)
        created = now if n < 20 else now - dt.timedelta(minutes=n)
        batch.set(
            stack.db.collection("tasks").document(f"{uid[:8]}-t{n:02d}"),
            {
                "userId": uid,
                "title": f"Paged task {n:02d}",
                "description": "written for the paging test",
                "status": "failed" if n % 3 == 0 else "completed",
                "priority": "high" if n % 2 else "low",
                "createdAt": created,
            },
        )
    batch.commit()
    app.go("/tasks")
    rows = page.locator("table[data-from-server=true] tr[data-task]")
    wait_until(lambda: rows.count() == 25, what="a full first page")
    first_page = {rows.nth(i).get_attribute("data-task") for i in range(25)}
    page.get_by_role("button", name="Next").click()
    page.get_by_text("Page 2").wait_for()
    wait_until(lambda: rows.count() == 5, what="the 5 remaining tasks")
    second_page = {rows.nth(i).get_attribute("data-task") for i in range(5)}
    assert not first_page & second_page and len(first_page | second_page) == 30
    assert page.get_by_role("button", name="Next").is_disabled()
    page.get_by_role("button", name="Previous").click()
    wait_until(lambda: rows.count() == 25, what="the first page again")
    # Filters live in the URL and combine (served by index merging).
    page.get_by_label("Status").select_option("failed")
    page.get_by_label("Priority").select_option("high")
    wait_until(lambda: "status=failed" in page.url and "priority=high" in page.url, what="URL")
    wait_until(lambda: rows.count() == 5, what="failed high-priority tasks")  # n = 3, 9, ..., 27
    titles = [rows.nth(i).inner_text() for i in range(5)]
    assert all("failed" in t and "high" in t for t in titles), titles


def test_validation_errors_are_shown_by_field(app: Dashboard) -> None:
    page = app.page
    app.sign_up(_email())
    app.go("/tasks/new")
    page.get_by_label("Title").fill("ab")
    page.get_by_label("Description").fill("short")
    page.get_by_role("button", name="Create task").click()
    page.locator(".field-error[data-field=title]").wait_for(timeout=LIVE_TIMEOUT_MS)
    assert "at least 3" in page.locator(".field-error[data-field=title]").inner_text()
    assert "at least 10" in page.locator(".field-error[data-field=description]").inner_text()
    assert page.get_by_label("Title").get_attribute("aria-invalid") == "true"
    app.axe("task-form-errors")

    app.go("/groups/new")
    page.get_by_role("button", name="Fill in a 3-level example").click()
    page.locator("[data-row='3']").get_by_label("Depends on (refs)").fill("design-a, nowhere")
    page.get_by_role("button", name="Create group").click()
    error = page.locator(".field-error[data-field='tasks.3.dependencies']")
    error.wait_for(timeout=LIVE_TIMEOUT_MS)
    assert "nowhere" in error.inner_text()
    page.locator("[data-row='1']").get_by_label("Inputs (JSON)").fill("[not json")
    page.get_by_role("button", name="Create group").click()
    page.locator(".field-error[data-field='tasks.1.inputs']").wait_for(timeout=LIVE_TIMEOUT_MS)
    assert page.locator("h1", has_text="New task group").count() == 1  # nothing was created


def test_a_second_user_never_sees_the_first_users_data(
    app: Dashboard, stack: PlatformHandle, chromium: Any
) -> None:
    first = stack.create_user()
    task = requests.post(
        stack.url("tasks"),
        json={"title": "Private work", "description": "Nobody else may see this"},
        headers=first.headers,
        timeout=60,
    ).json()["data"]["task"]
    group = requests.post(
        stack.url("task_groups"),
        json={"tasks": [{"ref": "a", "title": "Private step", "description": "Secret group task"}]},
        headers=first.headers,
        timeout=60,
    ).json()["data"]["taskGroup"]
    page = app.page
    app.sign_up(_email())
    assert page.locator(".recent li").count() == 0
    app.go(f"/tasks/{task['id']}")
    page.get_by_text("This task does not exist or you may not read it.").wait_for()
    app.go(f"/groups/{group['id']}")
    page.get_by_text("This group does not exist or you may not read it.").wait_for()
    app.go("/tasks")
    page.get_by_text("No tasks match.").wait_for(timeout=LIVE_TIMEOUT_MS)
    app.go("/groups")
    page.get_by_text("No task groups yet.").wait_for(timeout=LIVE_TIMEOUT_MS)
    assert "Private" not in page.content()


def test_api_keys_are_shown_once_work_and_stop_working_when_revoked(
    app: Dashboard, stack: PlatformHandle
) -> None:
    page = app.page
    app.sign_up(_email())
    app.go("/keys")
    page.locator("[data-role-required]").wait_for(timeout=LIVE_TIMEOUT_MS)
    assert page.get_by_role("button", name="Create key").count() == 0
    # API keys are for developers: an admin grants the role; the page follows the user document.
    developer = stack.create_user()
    stack.http.get(stack.url("users", "/me"), headers=developer.headers, timeout=60)
    stack.db.collection("users").document(developer.uid).update({"role": "developer"})
    app.sign_out()
    app.sign_in(developer.email)
    app.go("/keys")
    page.get_by_text("No API keys.").wait_for(timeout=LIVE_TIMEOUT_MS)
    page.get_by_label("Name").fill("ci key")
    page.get_by_role("button", name="Create key").click()
    issued = page.locator("[data-issued-key] code")
    issued.wait_for(timeout=LIVE_TIMEOUT_MS)
    key = issued.inner_text()
    assert re.fullmatch(r"aide_\S+", key), key
    listed = requests.get(f"{stack.hosting_url}/api/tasks", headers={"X-API-Key": key}, timeout=60)
    assert listed.status_code == 200, listed.text
    app.axe("api-keys")
    page.get_by_role("button", name="Done").click()
    assert key not in page.content()  # shown once
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke ci key").click()
    page.locator("tr[data-revoked=true]").wait_for(timeout=LIVE_TIMEOUT_MS)
    refused = requests.get(f"{stack.hosting_url}/api/tasks", headers={"X-API-Key": key}, timeout=60)
    assert refused.status_code == 401, refused.text

    page.get_by_label("Name").fill("x")
    page.get_by_role("button", name="Create key").click()
    page.locator(".field-error[data-field=name]").wait_for(timeout=LIVE_TIMEOUT_MS)


def test_projects_members_theme_and_sign_out(app: Dashboard, stack: PlatformHandle) -> None:
    page = app.page
    member = stack.create_user()
    stack.http.get(stack.url("users", "/me"), headers=member.headers, timeout=60)  # provisioned
    email = _email()
    app.sign_up(email)
    app.go("/projects")
    page.get_by_label("Name").fill("Team rocket")
    page.get_by_label("Visibility").select_option("team")
    page.get_by_role("button", name="Create project").click()
    project = page.locator("li[data-project]", has_text="Team rocket")
    project.wait_for(timeout=LIVE_TIMEOUT_MS)
    project.get_by_label("Add a member (user id)").fill("no-such-user")
    project.get_by_role("button", name="Add member").click()
    project.locator(".field-error[data-field=uid]").wait_for(timeout=LIVE_TIMEOUT_MS)
    project.get_by_label("Add a member (user id)").fill(member.uid)
    project.get_by_role("button", name="Add member").click()
    project.locator("code", has_text=member.uid).wait_for(timeout=LIVE_TIMEOUT_MS)
    app.axe("projects")
    # The theme follows preferences.theme, saved through the API and read back live.
    page.get_by_label("Theme").select_option("dark")
    page.wait_for_function("document.documentElement.dataset.theme === 'dark'")
    app.axe("projects-dark")
    app.go("/")
    page.locator(".dashboard[data-ready=true]").wait_for(timeout=LIVE_TIMEOUT_MS)
    app.axe("dashboard-dark")
    page.get_by_label("Theme").select_option("light")
    page.wait_for_function("document.documentElement.dataset.theme === 'light'")
    app.sign_out()
    app.sign_in(email)
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
