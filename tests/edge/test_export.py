"""`rightsgate export DIR`: the age-less decisions as files, byte-identical to the API.

A subset (places x languages x GPC) is exported through the real command line and
compared with the Flask app's answers (query parameter, Accept-Language, Sec-GPC and
as_of spellings of the same request), then served by a real nginx (the docs/deploy.md
block) and compared with a real server over HTTP. The age-gate tables are checked
against the API's age gate for the first and last age of every band, in every place.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from api.arguments import today_utc
from engine.age_gates import age_gate_table
from engine.cli import main
from engine.model import CONTEXTS

from ..conftest import REPO_ROOT, RULES_DIR
from ..gunicorn_server import running
from .nginx import documented_site, loopback_listen, running_nginx

PLACES = ("AT", "US-CA", "CA-QC", "EEA", "DEFAULT", "BR", "US")
LANGUAGES = ("en", "fr-CA", "de", "ar", "zh-Hans", "pt-BR", "es-419")
GATE_FIELDS = ("status", "digital_consent_age", "parental_consent_required", "minimum_age", "basis",
               "consent_by", "policy_consent_age", "knowledge", "rule", "citation", "legal_status")


def export(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["export", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("export") / "site"
    code, out, err = export(str(target), "--places", ",".join(PLACES), "--languages", ",".join(LANGUAGES))
    assert code == 0, err
    assert f"exported {len(PLACES)} places x 2 GPC x {len(LANGUAGES)} languages" in out
    return target


def decision_files(root: Path) -> list[tuple[str, bool, str, Path]]:
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    layout = index["layout"]
    return [(code, gpc, tag, root / layout["decision"].format(jurisdiction=code, gpc=folder, locale=tag))
            for code in index["places"] for folder, gpc in layout["gpc"].items() for tag in index["locales"]]


def test_the_index_says_what_was_exported(exported, app):
    index = json.loads((exported / "index.json").read_text(encoding="utf-8"))
    serving = app.extensions["rightsgate"].serving
    assert index["format"] == 1
    assert index["ruleset"] == {"version": serving.version, "as_of": today_utc().isoformat()}
    assert index["places"] == list(PLACES)
    assert index["locales"] == list(LANGUAGES)
    assert index["layout"] == {"decision": "decisions/{jurisdiction}/{gpc}/{locale}.json",
                               "gpc": {"gpc": True, "no-gpc": False},
                               "age_gate": "age-gates/{jurisdiction}.json",
                               "ui_strings": "ui-strings/{locale}.json"}
    assert index["aliases"]["UK"] == "GB" and index["territories"]["RE"] == "FR"
    assert index["valid_until"] is None or index["valid_until"] >= index["ruleset"]["as_of"]
    on_disk = sorted(p.relative_to(exported) for p in exported.rglob("*") if p.is_file())
    assert len(on_disk) == index["files"] == (len(PLACES) * 2 * len(LANGUAGES) + len(PLACES) + len(LANGUAGES)
                                              + 1)
    assert all(path.is_file() for *_, path in decision_files(exported))
    assert not [p for p in exported.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_every_file_is_the_apis_body_byte_for_byte(exported, client):
    files = decision_files(exported)
    assert len(files) == len(PLACES) * 2 * len(LANGUAGES)
    for n, (code, gpc, tag, path) in enumerate(files):
        data = path.read_bytes()
        flag = "true" if gpc else "false"
        by_param = client.get(f"/v1/decision?jurisdiction={code}&gpc={flag}&locale={tag}")
        assert by_param.status_code == 200
        assert by_param.data == data, (code, gpc, tag)
        assert by_param.headers["Content-Language"] == tag
        if n % 5 == 0:  # the same request spelled as a browser sends it
            headers = {"Accept-Language": f"{tag};q=0.9, en;q=0.1"}
            if gpc:
                headers["Sec-GPC"] = "1"
            assert client.get(f"/v1/decision?jurisdiction={code}", headers=headers).data == data, (code, tag)
        if n % 7 == 0:
            index_day = json.loads(data)["ruleset"]["as_of"]
            assert client.get(f"/v1/decision?jurisdiction={code}&gpc={flag}&locale={tag}"
                              f"&as_of={index_day}").data == data


def test_the_components_words_are_the_apis_bytes(exported, client):
    """<rightsgate-panel export-base=...> reads its words from the export, not from the API."""
    for tag in LANGUAGES:
        data = (exported / "ui-strings" / f"{tag}.json").read_bytes()
        answer = client.get(f"/v1/ui-strings?locale={tag}")
        assert answer.status_code == 200 and answer.data == data, tag
        assert json.loads(data)["direction"] == ("rtl" if tag == "ar" else "ltr")


def test_the_age_gate_tables_agree_with_the_api(exported, client):
    for code in PLACES:
        table = json.loads((exported / "age-gates" / f"{code}.json").read_text(encoding="utf-8"))
        assert table["jurisdiction"] == code and table["as_of"] == today_utc().isoformat()
        body = client.get(f"/v1/decision?jurisdiction={code}").get_json()
        assert table["unknown_age"] == {k: body["age_gate"][k] for k in GATE_FIELDS if k in body["age_gate"]}
        for context in CONTEXTS:
            bands = table["contexts"][context]
            assert bands[0]["min_age"] == 0 and bands[-1]["max_age"] == 130
            assert all(a["max_age"] + 1 == b["min_age"] for a, b in itertools.pairwise(bands))
            for band in bands:
                expected = {k: v for k, v in band.items() if k not in ("min_age", "max_age")}
                for age in {band["min_age"], band["max_age"]}:
                    gate = client.get(f"/v1/decision?jurisdiction={code}&age={age}&context={context}"
                                      ).get_json()["age_gate"]
                    assert {k: gate[k] for k in GATE_FIELDS if k in gate} == expected, (code, context, age)


def test_no_place_has_an_age_gate_that_depends_on_gpc(app):
    """The tables are read with GPC off; in every place, GPC on gives the same gate."""
    snapshot = app.extensions["rightsgate"].serving.snapshot
    day = today_utc()
    for code, table in snapshot.tables.items():
        for context in CONTEXTS:
            for age in (None, *table.axes.age_starts):
                off = snapshot.decide(code, age, False, day, context).age_gate
                on = snapshot.decide(code, age, True, day, context).age_gate
                assert off == on, (code, context, age)
        assert age_gate_table(snapshot, code, day)["contexts"]["consumer"]


def test_as_of_and_places_not_modelled_then(tmp_path, client):
    code, _, err = export(str(tmp_path / "old"), "--places", "DE,US-CA", "--languages", "en",
                            "--as-of", "2017-06-01")
    assert code == 0, err
    assert "DE is modelled from 2018-05-25 only; not exported" in err
    index = json.loads((tmp_path / "old" / "index.json").read_text(encoding="utf-8"))
    assert index["places"] == ["US-CA"]
    assert index["not_modelled_on_as_of"] == {"DE": "2018-05-25"}
    data = (tmp_path / "old" / "decisions" / "US-CA" / "no-gpc" / "en.json").read_bytes()
    assert json.loads(data)["ruleset"]["as_of"] == "2017-06-01"
    assert client.get("/v1/decision?jurisdiction=US-CA&as_of=2017-06-01").data == data


def test_a_new_export_replaces_the_old_one_and_nothing_else(tmp_path):
    target = tmp_path / "site"
    assert export(str(target), "--places", "FR", "--languages", "fr")[0] == 0
    (target / "stray.txt").write_text("from the previous export's day")
    assert export(str(target), "--places", "IT", "--languages", "it")[0] == 0
    assert not (target / "stray.txt").exists() and not (target / "decisions" / "FR").exists()
    assert (target / "decisions" / "IT" / "gpc" / "it.json").is_file()

    unrelated = tmp_path / "photos"
    unrelated.mkdir()
    (unrelated / "keep.jpg").write_bytes(b"\xff\xd8")
    code, _, err = export(str(unrelated), "--places", "IT", "--languages", "it")
    assert code == 1 and "holds no rightsgate export" in err
    assert [p.name for p in unrelated.iterdir()] == ["keep.jpg"]


@pytest.mark.parametrize(("args", "says"), [
    (["--places", "AT,XX"], "not a modelled place: XX"),
    (["--places", "at"], "not a modelled place: at"),
    (["--languages", "en,klingon"], "not a shipped language: klingon"),
    (["--places", ","], "(none given)"),
])
def test_unknown_places_and_languages_are_refused(tmp_path, args, says):
    code, _, err = export(str(tmp_path / "x"), *args)
    assert code == 2 and says in err
    assert not (tmp_path / "x").exists()


def test_engine_never_imports_api():
    """`rightsgate validate` and friends run without the API; only `export` loads it."""
    check = ("import sys, engine, engine.cli, engine.age_gates; "
             "assert not [m for m in sys.modules if m == 'api' or m.startswith('api.')], 'api imported'")
    subprocess.run([sys.executable, "-c", check], cwd=REPO_ROOT, check=True, timeout=120)


@pytest.mark.server
@pytest.mark.slow
def test_nginx_serves_the_export_as_the_api_answers_over_http(exported, tmp_path):
    with running(RULES_DIR, tmp_path, workers=1, interval=0) as server:
        port, listen = loopback_listen()
        site = documented_site("rightsgate: static export",
                               {"listen 8080;": listen, "/srv/rightsgate/export": str(exported)})
        with running_nginx(site, tmp_path / "nginx"), requests.Session() as http:
            files = decision_files(exported)
            for code, gpc, tag, path in files:
                static = http.get(f"http://127.0.0.1:{port}/{path.relative_to(exported)}", timeout=10)
                assert static.status_code == 200
                assert static.headers["Content-Type"] == "application/json"
                headers = {"Accept-Language": tag, **({"Sec-GPC": "1"} if gpc else {})}
                api = http.get(f"{server.base}/v1/decision?jurisdiction={code}", headers=headers, timeout=10)
                assert api.status_code == 200
                assert static.content == api.content, (code, gpc, tag)
            gates = http.get(f"http://127.0.0.1:{port}/age-gates/AT.json", timeout=10)
            assert gates.json()["contexts"]["consumer"][1]["status"] == "parental_consent_required"
            missing = http.get(f"http://127.0.0.1:{port}/decisions/ZZ/gpc/en.json", timeout=10)
            assert missing.status_code == 404
            # The component on another origin reads the files (docs/deploy.md opens them to CORS).
            words = http.get(f"http://127.0.0.1:{port}/ui-strings/de.json", timeout=10)
            assert words.json()["strings"]["save"] == "Auswahl speichern"
            assert words.headers["Access-Control-Allow-Origin"] == "*"
    assert len(files) == len(PLACES) * 2 * len(LANGUAGES)

