"""Cheap requests must not cost a lot (issue 15, finding 7): bounded errors, bounded parsing.

A 64 KiB body with thousands of unknown keys, a query string with hundreds of unknown
parameters and a huge Accept-Language are each answered with a small document: at
most MAX_ERRORS errors listed, then one saying how many more. (Time is not asserted:
the machine is shared; the bound on the work is what the document size and the
counts below prove, and bench/ measures the cost.)
"""

from __future__ import annotations

import json

from api.errors import MAX_ERRORS


def test_thousands_of_unknown_body_keys_get_a_short_answer(client):
    body = json.dumps({f"k{i:05d}": 1 for i in range(5500)}, separators=(",", ":"))
    assert 60_000 < len(body) <= 64 * 1024
    response = client.post("/v1/decision", data=body, content_type="application/json")
    assert response.status_code == 422
    problem = response.get_json()
    errors = problem["errors"]
    assert len(errors) == MAX_ERRORS + 1
    assert errors[-1] == {"field": None, "in": "body", "message": f"and {5500 - MAX_ERRORS} more, not listed"}
    assert all(e["field"].startswith("k") and "unknown field" in e["message"] for e in errors[:-1])
    assert f"and {5500 - MAX_ERRORS} more" in problem["detail"]
    assert len(response.data) < 8_000  # was 725 KB


def test_hundreds_of_unknown_parameters_get_a_short_answer(client):
    query = "&".join(f"p{i}=1" for i in range(700))
    response = client.get(f"/v1/decision?jurisdiction=DE&{query}")
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert len(errors) == MAX_ERRORS + 1
    assert errors[-1]["message"] == f"and {700 - MAX_ERRORS} more, not listed"
    assert len(response.data) < 8_000


def test_a_few_errors_are_all_listed(client):
    response = client.get("/v1/decision?jurisdiction=DE&colour=red&size=9&age=x")
    errors = response.get_json()["errors"]
    assert {e["field"] for e in errors} == {"colour", "size", "age"}
    assert not any("more, not listed" in e["message"] for e in errors)


def test_many_errors_with_a_bad_jurisdiction_keep_the_count(client):
    body = {"jurisdiction": "U-K", **{f"x{i}": 1 for i in range(25)}}
    problem = client.post("/v1/decision", json=body).get_json()
    fields = [e["field"] for e in problem["errors"]]
    assert fields[0] == "jurisdiction"  # a malformed place is still named first
    assert len(fields) == MAX_ERRORS + 1 and fields[-1] is None
    # 26 errors (the place and 25 unknown fields), 20 listed.
    assert problem["errors"][-1]["message"] == "and 6 more, not listed"


def test_a_huge_accept_language_is_parsed_within_a_bound(client):
    # A preference beyond the first 256 bytes is never looked at, whatever its q-value.
    filler = ", ".join(f"x{i:03d};q=0.1" for i in range(800))  # ~9 KB
    header = f"de;q=0.5, {filler}, fr;q=1"
    response = client.get("/v1/decision?jurisdiction=DE&age=30", headers={"Accept-Language": header})
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "de"
    # The same languages in a short header: fr wins on its q-value.
    short = client.get("/v1/decision?jurisdiction=DE&age=30", headers={"Accept-Language": "de;q=0.5, fr;q=1"})
    assert short.headers["Content-Language"] == "fr"
