"""A real headless Chromium (Debian's chromium + chromium-driver) driven by selenium.

One browser per test module; screenshots of each view go to var/test-artifacts/browser/
(gitignored), for people to look at when a test fails or a page changes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from ..conftest import REPO_ROOT

ARTIFACTS = REPO_ROOT / "var" / "test-artifacts" / "browser"


def _executable(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    raise RuntimeError(f"none of {names} is installed: the README's test command installs "
                       "Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = _executable("chromium", "/usr/bin/chromium", "chromium-browser")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", "--lang=en-US", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(_executable("chromedriver", "/usr/bin/chromedriver")),
                              options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(300)  # axe-core on a 114-row table, on a busy 2-core machine
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture()
def screenshot(browser, request):
    """`screenshot("name")` saves the current page as <test>-<name>.png under ARTIFACTS."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        browser.save_screenshot(str(path))
        return path

    return save


def axe_violations(driver: webdriver.Chrome) -> list[dict]:
    """axe-core's serious and critical violations on the current page (WCAG 2.1 A and AA,
    and axe's best practices). A failing axe run raises instead of hanging the browser."""
    script = resources.files("selenium_axe_python").joinpath("axe-core/axe.min.js").read_text()
    driver.execute_script(script)
    outcome = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                           "best-practice"]}})
           .then(results => done({violations: results.violations}))
           .catch(error => done({error: String(error)}));
    """)
    assert "error" not in outcome, f"axe-core failed: {outcome['error']}"
    return [v for v in outcome["violations"] if v.get("impact") in ("serious", "critical")]
