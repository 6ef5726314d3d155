"""Issue 14: the drop-in component's file, its manifest (URL + Subresource Integrity), and
the component's words at /v1/ui-strings (negotiated, cached and exported like the rest)."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil

import pytest
from babel.messages.pofile import read_po, write_po

from api.component import SOURCE, UNVERSIONED_PATH, asset_from_bytes
from api.spec import build_spec
from engine.ui_strings import UI_STRINGS

from ..conftest import REPO_ROOT
from .test_errors import assert_problem

LOCALES = REPO_ROOT / "locales"


def manifest(client) -> dict:
    response = client.get("/v1/component")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


# -- the file and its manifest -----------------------------------------------------------


def test_the_manifest_pins_the_bytes_it_points_at(client):
    found = manifest(client)
    script = client.get(found["url"])
    assert script.status_code == 200
    body = script.data
    assert body == SOURCE.read_bytes()
    # What a browser computes for <script integrity=...>: base64 of the SHA-384 of the bytes.
    assert found["integrity"] == "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()
    assert found["version"] == hashlib.sha256(body).hexdigest()[:16]
    assert found["url"] == f"/v1/component/rightsgate-panel.{found['version']}.js"
    assert found["element"] == "rightsgate-panel" and found["bytes"] == len(body)
    assert found["unversioned_url"] == UNVERSIONED_PATH


def test_a_change_of_one_byte_changes_the_name_and_the_hash():
    body = SOURCE.read_bytes()
    one, other = asset_from_bytes(body), asset_from_bytes(body + b"\n")
    assert one.path != other.path and one.integrity != other.integrity


def test_the_versioned_file_is_immutable_public_javascript(client):
    found = manifest(client)
    script = client.get(found["url"])
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Any page may load it and check its integrity (a CORS read), whatever the allow-list says.
    assert script.headers["Access-Control-Allow-Origin"] == "*"
    assert script.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    again = client.get(found["url"], headers={"If-None-Match": script.headers["ETag"]})
    assert again.status_code == 304 and not again.data


def test_the_file_is_served_to_what_a_browser_accepts(client):
    url = manifest(client)["url"]
    for accept in ("*/*", "text/javascript", "application/javascript, */*;q=0.1"):
        assert client.get(url, headers={"Accept": accept}).status_code == 200, accept
    assert_problem(client.get(url, headers={"Accept": "application/json"}), 406, "not-acceptable")
    # JSON endpoints still refuse what they cannot answer in.
    assert_problem(client.get("/v1/component", headers={"Accept": "text/javascript"}), 406)


def test_other_versions_and_stray_queries_are_refused(client):
    assert_problem(client.get("/v1/component/rightsgate-panel.0000000000000000.js"), 404, "not-found")
    assert_problem(client.get(manifest(client)["url"] + "?v=2"), 422, "validation")


def test_the_unversioned_name_redirects_to_the_current_file(client):
    response = client.get(UNVERSIONED_PATH)
    assert response.status_code == 302
    assert response.headers["Location"] == manifest(client)["url"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    cache_control = response.headers["Cache-Control"]
    assert "max-age=" in cache_control and "immutable" not in cache_control


def test_the_manifest_is_cached_like_the_reference_endpoints(client):
    response = client.get("/v1/component")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert client.get("/v1/component", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_the_file_stays_open_when_cors_is_an_allow_list(make_app, scratch_rules):
    application = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0,
                           RIGHTSGATE_CORS_ORIGINS="https://app.example")
    client = application.test_client()
    url = manifest(client)["url"]
    script = client.get(url, headers={"Origin": "https://elsewhere.example"})
    assert script.headers["Access-Control-Allow-Origin"] == "*"
    decision = client.get("/v1/decision?jurisdiction=DE", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in decision.headers  # decisions keep the allow-list


def test_the_component_is_documented(client):
    document = build_spec()
    url = manifest(client)["url"]
    assert {"/v1/component", url, UNVERSIONED_PATH, "/v1/ui-strings"} <= set(document["paths"])
    assert "text/javascript" in document["paths"][url]["get"]["responses"]["200"]["content"]
    assert "302" in document["paths"][UNVERSIONED_PATH]["get"]["responses"]
    texts = document["components"]["schemas"]["UiStringTexts"]
    assert set(texts["required"]) == set(UI_STRINGS)


def test_the_script_builds_no_html_from_strings():
    """Every text goes in as a text node: nothing from a response is ever parsed as HTML."""
    source = SOURCE.read_text(encoding="utf-8")
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert risky not in source, risky
    assert "console." not in source  # nothing (an age, a birthdate) is ever logged
    assert re.search(r"https?://(?!rights\.example)", source) is None  # it calls no one it is not told to


def test_the_scripts_english_fallback_is_the_catalogues_english():
    """Before the served language is known, the component shows these words: the msgids."""
    source = SOURCE.read_text(encoding="utf-8")
    block = source[source.index("const ENGLISH = {"):source.index("};", source.index("const ENGLISH = {"))]
    found = dict(re.findall(r'(\w+): "([^"]*)"', block))
    assert found and all(found[key] == UI_STRINGS[key][1] for key in found), found


def test_the_readme_embed_is_the_current_one(client):
    """The README's five lines pin the file the API serves now (edit the file: update them)."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Drop-in component"):readme.index("## Settings")]
    found = manifest(client)
    assert f'src="https://rights.example{found["url"]}"' in section
    assert f'integrity="{found["integrity"]}"' in section and 'crossorigin="anonymous"' in section
    assert "](docs/images/component.png)" in section
    assert (REPO_ROOT / "docs" / "images" / "component.png").is_file()


# -- /v1/ui-strings ------------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "direction", "save"), [
    ("de", "ltr", "Auswahl speichern"), ("ar", "rtl", "حفظ الخيارات"), ("ja", "ltr", "選択を保存"),
    ("he", "rtl", "שמירת הבחירות"), ("en", "ltr", "Save choices")])
def test_ui_strings_in_the_negotiated_language(client, locale, direction, save):
    response = client.get(f"/v1/ui-strings?locale={locale}")
    body = response.get_json()
    assert response.headers["Content-Language"] == body["locale"] == locale
    assert body["direction"] == direction
    assert set(body["strings"]) == set(UI_STRINGS)
    assert body["strings"]["save"] == save
    assert body["fallbacks"] == []
    assert "{period}" in body["strings"]["answer_within"] and "{authority}" in body["strings"]["complain_to"]


def test_ui_strings_negotiate_like_decisions_and_are_cached(client):
    for accept_language, served in (("fr-BE, en;q=0.5", "fr"), ("es-MX", "es-419"), ("zh-TW", "en")):
        response = client.get("/v1/ui-strings", headers={"Accept-Language": accept_language})
        decision = client.get("/v1/decision?jurisdiction=DE", headers={"Accept-Language": accept_language})
        assert response.headers["Content-Language"] == decision.headers["Content-Language"] == served
    response = client.get("/v1/ui-strings?locale=de")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Vary"] == "Accept-Language"
    assert client.get("/v1/ui-strings?locale=de",
                      headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    assert response.headers["ETag"] != client.get("/v1/ui-strings?locale=fr").headers["ETag"]
    assert_problem(client.get("/v1/ui-strings?locale=de&age=14"), 422, "validation", ["age"])


def test_a_missing_translation_is_served_in_english_and_listed(make_app, scratch_rules, tmp_path):
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales)
    po = locales / "de" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="de")
    catalog.get("Save choices", context="ui.save").string = ""
    with po.open("wb") as handle:
        write_po(handle, catalog, width=76)
    application = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_LOCALES_DIR=locales,
                           RIGHTSGATE_RELOAD_INTERVAL=0)
    body = application.test_client().get("/v1/ui-strings?locale=de").get_json()
    assert body["strings"]["save"] == "Save choices"
    assert body["fallbacks"] == ["save"]
    assert body["strings"]["reject_all"] == "Alle ablehnen"


def test_every_ui_string_key_is_stable_and_its_context_says_so():
    for key, (context, english) in UI_STRINGS.items():
        assert re.fullmatch(r"[a-z_]+", key) and context == f"ui.{key}"
        assert english and english.strip() == english
