"""The Email Setup form in a real browser: JupyterLab driven by Playwright on Debian's Chromium.

JupyterLab runs from the venv with ``--allow-root``, isolated settings/workspaces/runtime
folders, news and update checks off, and a token; the notebook is a copy in a temporary
folder (autosave must never write outputs into the repository). The test runs every cell,
fills the form, clicks "Test & save" and waits for the ladder and the diagnosis to appear.
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
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    settings = tmp_path / "settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "ws"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_PLATFORM_DIRS="1")
    port, token = _free_port(), secrets.token_hex(16)
    log = open(tmp_path / "jupyterlab.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--ServerApp.open_browser=False"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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


def test_email_setup_form_in_jupyterlab(jupyterlab):
    """Run the notebook, fill the Office 365 form, click Test & save: the ladder and the cause appear."""
    from playwright.sync_api import expect, sync_playwright

    base, token = jupyterlab
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}")
            expect(page.locator(".jp-Notebook")).to_be_visible()
            # wait for the kernel to be idle before Run All (DESIGN §6)
            expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            button = page.locator("button", has_text="Test & save")
            expect(button).to_be_visible(timeout=60_000)
            form = page.locator(".widget-vbox", has=button).last
            form.locator(".widget-text", has_text="Login / email address").locator("input").fill(
                "matters@quaylaw.example")
            form.locator("input[type=password]").fill("typed-in-the-browser")
            form.locator(".widget-checkbox", has_text="download").locator("input").check()
            form.locator(".widget-text", has_text="Forward failed emails to").locator("input").fill(
                "it@elsewhere.example")
            page.keyboard.press("Tab")
            button.click()
            expect(form).to_contain_text("POP3  ok   greeting", timeout=30_000)
            expect(form).to_contain_text("FAIL auth")
            expect(form).to_contain_text("settings.o365-basic-auth-retired")
            expect(form).to_contain_text("draft is kept")
            assert "typed-in-the-browser" not in form.inner_text()
            if os.environ.get("DOCTOR_SHOT"):
                form.screenshot(path=os.environ["DOCTOR_SHOT"])
        finally:
            browser.close()
