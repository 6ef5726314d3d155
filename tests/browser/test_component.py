"""Issue 14: <rightsgate-panel> in a real browser, against the real server.

A test page on its own loopback origin (a tiny static server) loads the component from
the real server (api/server.py, granian) the way the README tells a customer to: the
versioned URL with `integrity=` and `crossorigin=anonymous`. The server allows only the
page's origin (RIGHTSGATE_CORS_ORIGINS). A page script collects the component's events
into `window.rg.events`. GPC is switched on by defining `navigator.globalPrivacyControl`
before any page script runs (Chromium has no flag for it). A second static server holds
a `rightsgate export` of two places in two languages for the export-base mode.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from engine.cli import main

from ..conftest import RULES_DIR
from ..gunicorn_server import running
from .conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

EVENTS = tuple(f"rightsgate:{kind}" for kind in ("decision", "choice", "save", "error", "close"))
DEFINE_GPC = ("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', "
              "{get: () => true, configurable: true});")
# The shadow root's focused element, described (document.activeElement is the host).
FOCUSED = """
    const active = document.querySelector('rightsgate-panel').shadowRoot.activeElement;
    if (!active) return null;
    const style = getComputedStyle(active);
    return {tag: active.tagName.toLowerCase(), id: active.dataset.id || null,
            part: active.getAttribute('part'), locked: active.getAttribute('aria-disabled'),
            checked: active.checked === undefined ? null : active.checked,
            outline: style.outlineStyle, outline_width: style.outlineWidth};
"""


class _QuietFiles(SimpleHTTPRequestHandler):
    """Static files, open to every origin (a CDN's export, or the customer's page)."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def static_site(directory: Path) -> Iterator[str]:
    """Serve `directory` on a loopback port; yield its origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietFiles, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The page site, the export site and the server that allows only the page's origin."""
    root = tmp_path_factory.mktemp("component")
    pages, exported = root / "pages", root / "export"
    pages.mkdir()
    result = CliRunner().invoke(main, ["export", str(exported), "--places", "US-CA,DE",
                                       "--languages", "en,de"])
    assert result.exit_code == 0, result.output
    with static_site(pages) as page_origin, static_site(exported) as export_origin:
        env = {"RIGHTSGATE_CORS_ORIGINS": page_origin}
        with running(RULES_DIR, root, workers=1, interval=0, env=env) as server:
            manifest = requests.get(f"{server.base}/v1/component", timeout=10).json()
            yield {"pages": pages, "page_origin": page_origin, "export_origin": export_origin,
                   "exported": exported, "api": server.base, "manifest": manifest, "server": server}


def write_page(setup: dict, name: str, attributes: dict[str, str], integrity: str | None = None,
               csp: str | None = None) -> str:
    """A page that loads the component as the README says, with `attributes` on the element."""
    manifest = setup["manifest"]
    attrs = " ".join(f'{key}="{html.escape(value)}"' for key, value in attributes.items())
    policy = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(csp)}">' if csp else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rightsgate-panel test page</title>{policy}
<script>
  window.rg = {{events: [], violations: []}};
  document.addEventListener("securitypolicyviolation", (event) =>
    window.rg.violations.push(event.violatedDirective + " " + event.blockedURI));
  for (const type of {json.dumps(list(EVENTS))}) {{
    document.addEventListener(type, (event) =>
      window.rg.events.push({{type, detail: JSON.parse(JSON.stringify(event.detail))}}));
  }}
</script>
<script src="{setup['api']}{manifest['url']}" integrity="{integrity or manifest['integrity']}"
        crossorigin="anonymous"></script>
{"" if csp else "<style>body { font-family: sans-serif; margin: 1.5rem; background: #f6f8fa; }</style>"}
</head><body><main><h1>Example product</h1>
<rightsgate-panel {attrs}></rightsgate-panel>
</main></body></html>
"""
    (setup["pages"] / f"{name}.html").write_text(page, encoding="utf-8")
    return f"{setup['page_origin']}/{name}.html"


def open_page(browser, url: str) -> list[dict]:
    """Load `url` and wait until the component has loaded its decision (or failed)."""
    browser.get(url)
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(
        "return window.rg.events.some(e => ['rightsgate:decision', 'rightsgate:error'].includes(e.type))"))
    found = events(browser)
    assert not [e for e in found if e["type"] == "rightsgate:error"], found
    return found


def events(browser, kind: str | None = None) -> list[dict]:
    found = browser.execute_script("return window.rg.events")
    return [e for e in found if kind is None or e["type"] == f"rightsgate:{kind}"]


def shadow(browser):
    return browser.find_element(By.CSS_SELECTOR, "rightsgate-panel").shadow_root


def panel(browser):
    return shadow(browser).find_element(By.CSS_SELECTOR, ".panel")


def item(browser, item_id: str):
    return shadow(browser).find_element(By.CSS_SELECTOR, f'li.choice[data-id="{item_id}"]')


def toggle(browser, item_id: str):
    return shadow(browser).find_element(By.CSS_SELECTOR, f'input[data-id="{item_id}"]')


def ui_strings(setup: dict, locale: str) -> dict[str, str]:
    return requests.get(f"{setup['api']}/v1/ui-strings?locale={locale}", timeout=10).json()["strings"]


def assert_accessible(browser) -> None:
    violations = axe_violations(browser)
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in violations]


@pytest.fixture()
def gpc(browser) -> Iterator[None]:
    """The browser sends Global Privacy Control (navigator.globalPrivacyControl === true)."""
    added = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DEFINE_GPC})
    try:
        yield
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                                {"identifier": added["identifier"]})


# -- integrity -------------------------------------------------------------------------------


def test_the_page_pins_the_served_bytes_with_sri(setup, browser):
    manifest = setup["manifest"]
    served = requests.get(setup["api"] + manifest["url"], timeout=10)
    digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
    assert manifest["integrity"] == f"sha384-{digest}"
    decision = open_page(browser, write_page(setup, "sri", {"api": setup["api"], "jurisdiction": "DE",
                                                            "locale": "en"}))
    assert decision[0]["detail"]["source"] == "api"
    # The same page with another hash: the browser refuses to run the file at all.
    tampered = "sha384-" + base64.b64encode(hashlib.sha384(served.content + b" ").digest()).decode()
    browser.get(write_page(setup, "sri-wrong", {"api": setup["api"], "jurisdiction": "DE"}, tampered))
    assert browser.execute_script("return customElements.get('rightsgate-panel') === undefined")
    assert browser.execute_script("return window.rg.events.length") == 0


def test_a_strict_page_policy_needs_only_the_apis_origin(setup, browser):
    """The component injects no inline style or script: a page whose CSP allows scripts and
    connections to the API's origin only (styles: none at all) still gets a styled panel."""
    api = setup["api"]
    csp = f"default-src 'none'; script-src 'unsafe-inline' {api}; connect-src {api}; style-src 'none'"
    open_page(browser, write_page(setup, "csp", {"api": api, "jurisdiction": "DE", "locale": "en"}, csp=csp))
    assert browser.execute_script("return window.rg.violations") == []
    assert browser.execute_script("return getComputedStyle(arguments[0]).borderTopLeftRadius",
                                  panel(browser)) == "8px"


# -- GPC ------------------------------------------------------------------------------------------


def test_without_gpc_nothing_is_turned_off(setup, browser):
    """No `locale`: the browser's own Accept-Language (Chromium started with --lang=en-US) decides."""
    open_page(browser, write_page(setup, "ca", {"api": setup["api"], "jurisdiction": "US-CA",
                                                "closable": ""}))
    (loaded,) = events(browser, "decision")
    assert loaded["detail"]["decision"]["gpc"] is False
    assert panel(browser).get_attribute("lang") == "en-US"
    assert not shadow(browser).find_elements(By.CSS_SELECTOR, ".gpc-notice")
    assert toggle(browser, "sale_sharing").is_selected()  # an opt-out: on until the person says no
    assert not item(browser, "sale_sharing").find_elements(By.CSS_SELECTOR, ".badge.gpc")
    close = shadow(browser).find_element(By.CSS_SELECTOR, 'button[part~="close"]')
    assert close.text == ui_strings(setup, "en-US")["close"]
    close.click()
    (closed,) = events(browser, "close")
    assert {c["id"] for c in closed["detail"]["choices"]} >= {"sale_sharing", "sensitive_data"}
    assert not browser.find_element(By.CSS_SELECTOR, "rightsgate-panel").is_displayed()


def test_gpc_is_sent_and_shown(setup, browser, gpc, screenshot):
    open_page(browser, write_page(setup, "ca-gpc", {"api": setup["api"], "jurisdiction": "US-CA",
                                                    "locale": "en"}))
    (loaded,) = events(browser, "decision")
    assert loaded["detail"]["decision"]["gpc"] is True
    words = ui_strings(setup, "en")
    assert shadow(browser).find_element(By.CSS_SELECTOR, ".gpc-notice").text == words["gpc_detected"]
    sale = item(browser, "sale_sharing")
    assert not toggle(browser, "sale_sharing").is_selected()
    assert sale.find_element(By.CSS_SELECTOR, ".badge.gpc").text == words["gpc_honoured"]
    assert words["gpc_turned_off"] in sale.text
    assert toggle(browser, "sensitive_data").is_selected()  # GPC does not cover it in California
    # "Accept all" never undoes what the signal turned off; everything else follows it.
    shadow(browser).find_element(By.CSS_SELECTOR, 'button[part~="reject-all"]').click()
    shadow(browser).find_element(By.CSS_SELECTOR, 'button[part~="accept-all"]').click()
    assert not toggle(browser, "sale_sharing").is_selected()
    assert toggle(browser, "sensitive_data").is_selected()
    changed = [(e["detail"]["id"], e["detail"]["value"]) for e in events(browser, "choice")]
    assert ("sale_sharing", "on") not in changed and ("sensitive_data", "off") in changed
    screenshot("gpc")


# -- languages --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "direction"), [("de", "ltr"), ("ja", "ltr"), ("ar", "rtl")])
def test_served_language_and_direction(setup, browser, screenshot, locale, direction):
    open_page(browser, write_page(setup, f"lang-{locale}", {"api": setup["api"], "jurisdiction": "FR",
                                                            "locale": locale}))
    shown = panel(browser)
    assert shown.get_attribute("lang") == locale and shown.get_attribute("dir") == direction
    assert browser.execute_script(
        "return getComputedStyle(arguments[0]).direction", shown) == direction
    words = ui_strings(setup, locale)
    assert shadow(browser).find_element(By.CSS_SELECTOR, "[part=heading]").text == words["panel_title"]
    assert shadow(browser).find_element(By.CSS_SELECTOR, 'button[part~="save"]').text == words["save"]
    decision = requests.get(f"{setup['api']}/v1/decision?jurisdiction=FR&locale={locale}", timeout=10).json()
    first = decision["rights"][0]
    assert first["title"] in shadow(browser).find_element(By.CSS_SELECTOR, "[part~=rights]").text
    screenshot(locale)
    if direction == "rtl":
        assert_accessible(browser)


# -- keyboard, locks, events --------------------------------------------------------------------------


def tab_until(browser, wanted, limit: int = 40) -> dict:
    """Press Tab until the focused element inside the component satisfies `wanted`."""
    seen = []
    for _ in range(limit):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        focused = browser.execute_script(FOCUSED)
        seen.append(focused)
        if focused and wanted(focused):
            return focused
    raise AssertionError(f"never reached by Tab: {seen}")


def test_keyboard_toggles_and_saves_with_the_right_payloads(setup, browser, screenshot):
    """A 16-year-old in Connecticut: sale and targeted ads are prohibited (locked, with the
    reason), sensitive data and profiling are opt-ins they decide themselves. The age goes to
    the API in a POST body (CORS preflight against the allow-list) and into no event."""
    url = write_page(setup, "ct", {"api": setup["api"], "jurisdiction": "US-CT", "age": "16", "locale": "en"})
    open_page(browser, url)
    (loaded,) = events(browser, "decision")
    version = loaded["detail"]["decision"]["ruleset"]["version"]
    words = ui_strings(setup, "en")

    # A prohibited item is reachable (its reason is read out) but cannot be switched on.
    locked = tab_until(browser, lambda f: f["tag"] == "input")
    assert locked["id"] == "sale_sharing" and locked["locked"] == "true" and locked["checked"] is False
    assert (locked["outline"], locked["outline_width"]) == ("solid", "3px")  # the component's focus ring
    ActionChains(browser).send_keys(Keys.SPACE).perform()
    assert not toggle(browser, "sale_sharing").is_selected() and not events(browser, "choice")
    reason = item(browser, "sale_sharing").find_element(By.CSS_SELECTOR, ".badge.locked")
    assert reason.text == words["prohibited_age"]
    described = toggle(browser, "sale_sharing").get_attribute("aria-describedby").split()
    assert reason.find_element(By.XPATH, "..").get_attribute("id") in described

    focused = tab_until(browser, lambda f: f["id"] == "sensitive_data")
    assert focused["locked"] is None and focused["checked"] is False
    ActionChains(browser).send_keys(Keys.SPACE).perform()
    assert toggle(browser, "sensitive_data").is_selected()
    assert item(browser, "sensitive_data").find_element(By.CSS_SELECTOR, "[part=state]").text == words["on"]
    (choice,) = events(browser, "choice")
    keys = ("id", "value", "previous", "mechanism", "default", "locked")
    assert {k: choice["detail"][k] for k in keys} == {
        "id": "sensitive_data", "value": "on", "previous": "off", "mechanism": "opt_in", "default": "off",
        "locked": None}
    assert choice["detail"]["ruleset"]["version"] == version
    assert choice["detail"]["jurisdiction"] == "US-CT" and choice["detail"]["consent_by"] == "person"

    saved = tab_until(browser, lambda f: (f["part"] or "").split()[:2] == ["button", "save"])
    assert (saved["outline"], saved["outline_width"]) == ("solid", "3px")
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    (save,) = events(browser, "save")
    detail = save["detail"]
    assert detail["ruleset"]["version"] == version and detail["jurisdiction"] == "US-CT"
    assert detail["age_gate"]["status"] == "allowed"
    by_id = {c["id"]: c for c in detail["choices"]}
    assert set(by_id) == {o["id"] for o in loaded["detail"]["decision"]["opt_outs"]}
    assert by_id["sensitive_data"]["value"] == "on" and by_id["sensitive_data"]["changed"] is True
    assert (by_id["sale_sharing"]["value"], by_id["sale_sharing"]["locked"]) == ("off", "prohibited")
    assert by_id["profiling"]["value"] == "off" and by_id["profiling"]["changed"] is False
    # No personal data in what the page receives: the age was an input, not a result.
    everything = json.dumps([e["detail"] for e in events(browser) if e["type"] != "rightsgate:decision"])
    assert '"age"' not in everything and "birthdate" not in everything
    WebDriverWait(browser, 10).until(lambda d: shadow(d).find_element(
        By.CSS_SELECTOR, '[part~=choices] [part=message]').text == words["saved"])
    browser.execute_script("window.scrollTo(0, 0)")
    screenshot("keyboard")  # docs/images/component.png is a copy of this one
    assert_accessible(browser)


def test_consent_a_parent_must_give_is_locked_too(setup, browser):
    """A 14-year-old in Germany: cookies and marketing need a parent (locked, says who);
    profiling-based ads are prohibited for minors on a platform (DSA)."""
    open_page(browser, write_page(setup, "de-14", {"api": setup["api"], "jurisdiction": "DE", "age": "14",
                                                   "locale": "de"}))
    words = ui_strings(setup, "de")
    cookies = item(browser, "cookies")
    assert toggle(browser, "cookies").get_attribute("aria-disabled") == "true"
    assert words["consent_parent"] in cookies.text
    toggle(browser, "cookies").click()
    assert not toggle(browser, "cookies").is_selected() and not events(browser, "choice")
    ads = item(browser, "targeted_advertising")
    assert ads.find_element(By.CSS_SELECTOR, ".badge.locked").text == words["prohibited_age"]
    assert "Alter und Einwilligung" in shadow(browser).find_element(By.CSS_SELECTOR, "[part~=age-gate]").text


# -- the static export ------------------------------------------------------------------------------------


def test_export_base_reads_the_static_files(setup, browser, gpc, screenshot):
    """No api attribute at all: the decision and the words come from the export's files,
    chosen by place (an alias), GPC and language, byte-identical to what the API answers."""
    open_page(browser, write_page(setup, "export", {"export-base": setup["export_origin"] + "/",
                                                    "jurisdiction": "California", "locale": "de-AT"}))
    (loaded,) = events(browser, "decision")
    assert loaded["detail"]["source"] == "export"
    exported = json.loads((setup["exported"] / "decisions" / "US-CA" / "gpc" / "de.json").read_text())
    assert loaded["detail"]["decision"] == exported
    assert panel(browser).get_attribute("lang") == "de"
    assert not toggle(browser, "sale_sharing").is_selected()
    words = json.loads((setup["exported"] / "ui-strings" / "de.json").read_text())["strings"]
    assert shadow(browser).find_element(By.CSS_SELECTOR, "[part=heading]").text == words["panel_title"]
    screenshot("export")
    # A place the export does not hold falls back as the API would: DEFAULT (not exported here).
    browser.get(write_page(setup, "export-missing", {"export-base": setup["export_origin"],
                                                     "jurisdiction": "JP", "locale": "en"}))
    WebDriverWait(browser, 30).until(lambda d: events(d, "error"))
    assert events(browser, "error")[0]["detail"]["status"] == 404
    retry = shadow(browser).find_element(By.CSS_SELECTOR, 'button[part~="retry"]')
    assert retry.text == "Try again"
