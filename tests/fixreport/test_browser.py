"""The fix report in a real browser (Playwright on Debian's Chromium, headless, as root with --no-sandbox):
opened from a file:// URL with every other request failing the test, it shows the verdict, the numbered
steps and the exact SPF record, keeps each step whole when printed, and prints to PDF.
Skipped only when Chromium or Playwright is missing and ``MAILSUPPORT_REQUIRE_REAL`` is unset."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mailsupport.fixpage import write_fix_report

REPO = Path(__file__).resolve().parents[2]
TENANTS = REPO / "data" / "samples" / "tenants"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RECORD = "v=spf1 include:_spf.google.com include:_spf.actionstep.com ~all"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def _require(condition: bool, why: str) -> None:
    if not condition:
        if os.environ.get("MAILSUPPORT_REQUIRE_REAL"):
            pytest.fail(f"{why} (MAILSUPPORT_REQUIRE_REAL is set, so this cannot be skipped)")
        pytest.skip(why)


@pytest.fixture
def browser():
    """Headless Debian Chromium driven by Playwright (root-safe flags, no background networking)."""
    _require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "the playwright package is not installed (pip install -e .[test])")
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            yield b
        finally:
            b.close()


def test_fix_report_opens_offline_shows_the_steps_and_prints_to_pdf(browser, tmp_path):
    """Every request but the file itself fails the test (and so does a load the page's Content-Security-Policy
    refused, reported on the console); verdict, Step 1..n and the SPF record are visible; in print each step
    avoids a page break inside it; page.pdf() gives a PDF."""
    from playwright.sync_api import expect

    report = write_fix_report(TENANTS / "chenpartners.toml", tmp_path, environ={})
    page_url = report.files.html_path.resolve().as_uri()
    outside: list[str] = []

    def guard(route) -> None:
        if route.request.url == page_url:
            route.continue_()
        else:  # anything else (http, https, data, another file) is a load from outside the page
            outside.append(route.request.url)
            route.abort()

    page = browser.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.route("**/*", guard)
    page.set_default_timeout(20_000)
    page.goto(page_url)
    expect(page.locator("#verdict")).to_be_visible()
    expect(page.locator("#verdict")).to_have_text(report.plan.verdict)
    steps = page.locator("li.step")
    expect(steps).to_have_count(len(report.plan.steps))
    for i, step in enumerate(report.plan.steps, 1):
        expect(page.locator(f"#step-{i} h3")).to_contain_text(f"Step {i}. {step.title}")
    expect(page.locator("#step-1 code.value.new")).to_have_text(RECORD)
    expect(page.locator("#step-1 details pre")).to_be_hidden()  # the trace is folded away
    page.emulate_media(media="print")
    assert page.locator("#step-1").evaluate("el => getComputedStyle(el).breakInside") == "avoid"
    pdf = page.pdf(format="A4", print_background=False)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    (tmp_path / "fix-report.pdf").write_bytes(pdf)
    assert outside == [] and console == []
