"""A real browser (Debian's Chromium driven by Playwright) against a running gateway's admin UI.

The gateway is gw1 of the in-process federated world (real TLS on its admin port,
real databases); the UI users are made with ``sild gateway user add``. Without
Chromium every test here is skipped with one reason (``make tools`` installs it).
Screenshots go to a temporary directory, or to ``$SILD_UI_SCREENSHOTS`` (the docs
take theirs with ``SILD_UI_SCREENSHOTS=docs/ui``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.admin import admin_url

from tests.gateway._world import World

CHROMIUM = Path("/usr/bin/chromium")
GW1 = "EE/GOV/70000001/gw1"
PASSWORD = "a browser test password"
USERS = {  # one user per role of X-Road's five, and one with two
    "sofia": ("security-officer",), "reino": ("registration-officer",), "sven": ("service-administrator",),
    "sysa": ("system-administrator",), "olga": ("observer",),
}


@dataclass
class Ui:
    """The UI of gw1: its URL, its directory, a browser, and where screenshots go."""

    url: str
    directory: Path
    browser: Any
    shots: Path

    def login(self, name: str) -> Any:
        """A fresh browser context (no cookies) signed in as ``name``; returns its page on the dashboard."""
        context = self.browser.new_context(ignore_https_errors=True, accept_downloads=True,
                                           viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(self.url + "/")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(self.url + "/")
        return page

    def shot(self, page: Any, name: str) -> Path:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def sild(*args: str) -> Any:
    from gateway.cli._main import _register, cli

    _register()
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def ui(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    if not CHROMIUM.exists():
        pytest.skip(f"the admin UI's browser tests need Chromium ({CHROMIUM}; `make tools` installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the admin UI's browser tests need playwright")
    directory = world.gateways[GW1].directory
    secret = tmp_path_factory.mktemp("ui") / "password"
    secret.write_text(PASSWORD + "\n")
    for name, roles in USERS.items():
        result = sild("gateway", "user", "add", str(directory), name, *[f"--role={r}" for r in roles],
                      "--password-file", str(secret))
        assert result.exit_code == 0, result.output
    shots = Path(os.environ.get("SILD_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield Ui(admin_url(directory) + "/ui", directory, browser, shots)
        finally:
            browser.close()
