"""Playwright for Python driving Debian's chromium against pytest-django's live server.

One browser for the session, a fresh context (cookies, language, viewport) per test. Every test fails
on a console error, an uncaught page error, or a request to any origin but the live server's. Screenshots
go to var/artifacts/screenshots/ (ARTIFACTS_DIR moves it).

`playwright install` cannot work here (no network for browser downloads): the browser is the system's
chromium (CHROMIUM, default /usr/bin/chromium; bin/test installs it from Debian).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from . import data

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", ROOT / "var" / "artifacts")) / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    # Playwright's sync API keeps an asyncio loop in this thread, which Django's ORM takes for an async
    # context; the tests' own ORM calls never run concurrently with it, so they may go ahead.
    # https://docs.djangoproject.com/en/5.2/topics/async/#envvar-DJANGO_ALLOW_ASYNC_UNSAFE
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Watch:
    """What a page did that a test must not allow: console errors, page errors, foreign requests."""

    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    # Refusals a test provokes on purpose (a 404 page, a 409 message): the browser logs each one as a
    # "Failed to load resource" console error, which is then no error of the page.
    expected_statuses: set[int] = field(default_factory=set)

    def console(self, message) -> None:
        if message.type != "error":
            return
        text = message.text
        if any(f"status of {code} " in text for code in self.expected_statuses):
            return
        self.errors.append(text)

    def attach(self, page: Page) -> None:
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", self._request)

    def _request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign.append(request.url)


@dataclass
class Session:
    """A browser context as one person: its page, the live server and what it watched."""

    page: Page
    base: str
    watch: Watch
    name: str

    def go(self, path: str, *, status: int = 200):
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == status, (path, response and response.status)
        self.page.wait_for_load_state("networkidle")
        return response

    def login(self, username: str, password: str = data.PASSWORD) -> None:
        self.go("/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        with self.page.expect_navigation():
            self.page.click("form[action='/login/'] button[type=submit]")
        self.page.wait_for_load_state("networkidle")

    def shot(self, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def scroll_width(self) -> int:
        return self.page.evaluate("document.documentElement.scrollWidth")

    def charts_drawn(self) -> dict[str, tuple[float, float]]:
        """Each [data-chart] element's drawn canvas (or svg) size."""
        return self.page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map(el => {
                const drawn = el.querySelector('canvas, svg');
                const box = drawn ? drawn.getBoundingClientRect() : {width: 0, height: 0};
                return [el.dataset.chart, [box.width, box.height]];
            }))"""
        )


@pytest.fixture
def demo(transactional_db) -> data.Demo:
    return data.build()


@pytest.fixture
def open_session(browser, live_server, request):
    """open_session(viewport=DESKTOP, locale="zh-CN") -> a Session; checked for errors after the test."""
    sessions: list[Session] = []

    def make(*, viewport=DESKTOP, locale: str = "zh-CN", name: str | None = None) -> Session:
        context = browser.new_context(viewport=viewport, locale=locale)
        page = context.new_page()
        watch = Watch(origin=live_server.url)
        watch.attach(page)
        label = name or f"{request.node.name}-{viewport['width']}-{locale}"
        session = Session(page=page, base=live_server.url, watch=watch, name=label)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.page.context.close()
    for session in sessions:
        assert not session.watch.errors, f"console errors: {session.watch.errors}"
        assert not session.watch.foreign, f"requests to another origin: {session.watch.foreign}"
