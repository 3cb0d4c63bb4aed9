"""The Email Setup form in a real browser: JupyterLab driven by Playwright on Debian's Chromium.

JupyterLab runs from the venv with ``--allow-root``, isolated settings/workspaces/runtime
folders, news and update checks off, and a token; the notebook is a copy in a temporary
folder beside a link to the samples (autosave must never write outputs into the
repository), and the form's default
drafts folder is private too (``XDG_STATE_HOME``). The test runs every cell, fills the form,
clicks "Test & save" and waits for the coloured step table and the diagnosis; opens the
plain-text ladder; runs every cell again and finds the draft restored; switches to OAuth2;
and changes the provider, which clears the results.
Skipped only when Chromium or Playwright is missing and ``MAILSUPPORT_REQUIRE_REAL`` is unset.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "06-lost-settings.ipynb"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]


def _require(condition: bool, why: str) -> None:
    if not condition:
        if os.environ.get("MAILSUPPORT_REQUIRE_REAL"):
            pytest.fail(f"{why} (MAILSUPPORT_REQUIRE_REAL is set, so this cannot be skipped)")
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"JupyterLab exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback only
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"JupyterLab did not answer {url.split('?')[0]} in time")


@pytest.fixture
def jupyterlab(tmp_path):
    """A private JupyterLab on 127.0.0.1 serving a copy of the notebook; yields (base url, token)."""
    _require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _require(False, "the playwright package is not installed (pip install -e .[test])")
    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOK, root / "notebooks" / NOTEBOOK.name)
    (root / "data").symlink_to(REPO / "data")  # the notebook's ../data/samples/ paths, read only
    settings = tmp_path / "settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "ws"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_PLATFORM_DIRS="1",
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    port, token = _free_port(), secrets.token_hex(16)
    log = open(tmp_path / "jupyterlab.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={token}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--ServerApp.open_browser=False",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/api/status?token={token}", proc, time.monotonic() + 60)
        yield base, token
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # our own process group: the server and its kernels
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


def _run_all(page) -> None:
    """Run > Run All Cells, once the kernel is idle (wait for idle, then run: CONTRIBUTING.md, browser tests)."""
    from playwright.sync_api import expect

    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def test_email_setup_form_in_jupyterlab(jupyterlab):
    """Fill the Office 365 form, Test & save: the step table and cause appear; a re-run restores the draft;
    OAuth2 swaps the password for a token field; another provider clears the results."""
    from playwright.sync_api import expect, sync_playwright

    base, token = jupyterlab
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/notebooks/{NOTEBOOK.name}?token={token}")
            expect(page.locator(".jp-Notebook")).to_be_visible(timeout=60_000)
            _run_all(page)
            button = page.locator("button", has_text="Test & save")
            expect(button).to_be_visible(timeout=60_000)
            form = page.locator(".widget-vbox", has=button).last
            address = form.locator(".widget-text", has_text="Login / email address").locator("input")
            address.fill("matters@quaylaw.example")
            form.locator("input[type=password]").fill("typed-in-the-browser")
            form.locator(".widget-checkbox", has_text="download").locator("input").check()
            form.locator(".widget-text", has_text="Forward failed emails to").locator("input").fill(
                "it@elsewhere.example"
            )
            page.keyboard.press("Tab")
            button.click()
            steps = form.locator(".mailsupport-ladder")
            expect(steps.locator("tr[data-status=fail]", has_text="auth").first).to_be_visible(timeout=30_000)
            expect(steps.locator("tr[data-status=ok]", has_text="greeting").first).to_be_visible()
            expect(steps.locator("tr[data-status='not reached']", has_text="final").first).to_be_visible()
            expect(form).to_contain_text("settings.o365-basic-auth-retired")
            expect(form).to_contain_text("draft is kept")
            form.get_by_text("Connection test as plain text").click()  # the text wall, for copying
            expect(form.locator("pre", has_text="POP3  ok   greeting").first).to_be_visible()
            assert "typed-in-the-browser" not in form.inner_text()
            if os.environ.get("DOCTOR_SHOT"):
                form.screenshot(path=os.environ["DOCTOR_SHOT"])

            _run_all(page)  # the notebook run again: a new form, the same default drafts folder
            expect(form).to_contain_text("was restored", timeout=60_000)
            expect(address).to_have_value("matters@quaylaw.example")
            expect(form.locator(".mailsupport-ladder")).to_have_count(0)  # no stale results in a new form

            form.get_by_role("button", name="OAuth2 access token").click()
            expect(form).to_contain_text("switched off password (basic) sign-in")
            expect(
                form.locator(".widget-text", has_text="OAuth2 access token").locator("input[type=password]")
            ).to_be_visible()
            expect(form.locator(".widget-text", has_text="Password")).to_have_count(0)

            button.click()  # a test with the kept password field now hidden: the token is missing
            expect(form.locator(".mailsupport-ladder, .mailsupport-table").first).to_be_visible(timeout=30_000)
            form.locator("select").first.select_option(label="Gmail/Google Apps")
            expect(form.locator(".mailsupport-ladder")).to_have_count(0)
            expect(form.locator(".mailsupport-table")).to_have_count(0)
        finally:
            browser.close()
