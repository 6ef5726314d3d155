"""Issue 15, finding 6: no age or birthdate in any line a real server writes.

They reached the logs through the request path (`/v1/decision%3Fbirthdate%3D1911-04-23`
is decoded to a path and was logged as one), the method word, and gunicorn's error line
for a request line holding both quote kinds. Here marked ages and birthdates go through
every channel a client has, valid and not, and ALL the server's output (stdout and
stderr, master and workers, the app's lines and the server's own) is searched.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from ..conftest import RULES_DIR
from ..gunicorn_server import raw_exchange, running

BIRTHDATES = ("1911-04-23", "1923-08-19")
OTHER_FORMS = ("23.04.1911", "19110423", "1911/04/23", "04/23/1911")
AGES = (117, 126)


def send_everything(base: str, port: int) -> int:
    """Every way a client can put an age or a birthdate in front of the server."""
    b1, b2 = BIRTHDATES
    a1, a2 = AGES
    decision = f"{base}/v1/decision"
    json_type = {"Content-Type": "application/json"}
    s = requests.Session()
    answers = [
        # query (valid, invalid, repeated, unknown names)
        s.get(decision, params={"jurisdiction": "AT", "birthdate": b1}, timeout=10),
        s.get(decision, params={"jurisdiction": "AT", "age": a1}, timeout=10),
        s.get(decision, params={"birthdate": OTHER_FORMS[0], "age": "x"}, timeout=10),
        s.get(decision, params=[("age", a1), ("age", a2)], timeout=10),
        s.get(decision, params={f"dob_{b2}": a2}, timeout=10),
        # body: valid, wrong types, invalid JSON, huge values
        s.post(decision, json={"jurisdiction": "FR", "birthdate": b2}, timeout=10),
        s.post(decision, json={"jurisdiction": "FR", "age": a2}, timeout=10),
        s.post(decision, json={"birthdate": a1, "age": b1}, timeout=10),
        s.post(decision, data=f'{{"birthdate": "{b1}", "age": {a1},'.encode(), headers=json_type, timeout=10),
        s.post(decision, data=f'{{"age": {a2}0000000000000000000000000}}'.encode(), headers=json_type,
               timeout=10),
        s.post(decision, json={"birthdate": b2 * 2000}, timeout=10),
        s.post(decision, data=f"birthdate={b1}&age={a1}".encode(), timeout=10,
               headers={"Content-Type": "application/x-www-form-urlencoded"}),
        requests.post(decision, data=f'{{"birthdate": "{b1}"}}'.encode().ljust(70_000), headers=json_type,
                      timeout=10),
        # headers
        s.get(decision, headers={"X-Birthdate": b1, "Accept-Language": f"de;q={a1}, {b2}",
                                 "Sec-GPC": f"age={a1}", "If-None-Match": f'"{b1}"',
                                 "Cookie": f"birthdate={b2}; age={a2}", "Referer": f"https://x/?dob={b1}"},
              timeout=10),
        s.get(decision, headers={"Accept": f"text/{b1}"}, timeout=10),
        # path: encoded query, dates and ages as segments
        s.get(f"{base}/v1/decision%3Fbirthdate%3D{b1}%26age%3D{a1}", timeout=10),
        s.get(f"{base}/v1/decision/{b2}", timeout=10),
        s.get(f"{base}/{OTHER_FORMS[1]}/age/{a2}", timeout=10),
        s.get(f"{base}/v1/decision;birthdate={OTHER_FORMS[2]}", timeout=10),
        # method words
        s.request(f"BIRTHDATE{OTHER_FORMS[1]}", decision, timeout=10),
        s.request("AGE", f"{decision}?age={a1}", timeout=10),
    ]
    s.close()
    assert all(answer.status_code < 500 for answer in answers), [a.status_code for a in answers]
    # What the HTTP parser sees first: malformed request lines (both quote kinds), bad
    # versions, missing Host, header lines without a colon, oversized headers, bad chunks.
    raws = [
        f"GET /v1/decision?birthdate={b1}&x='\"' HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET /v1/decision?age={a1}&q=\"'\" HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        f"{b2} /v1/decision HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET /v1/decision?birthdate={b2} HTTP/1.9\r\nHost: x\r\n\r\n",
        f"GET /v1/decision?age={a2} HTTP/1.1\r\n\r\n",
        f"GET /v1/decision HTTP/1.1\r\nHost: x\r\nX-Birthdate {b1}\r\n\r\n",
        f"GET /v1/decision HTTP/1.1\r\nHost: x\r\nX-Dob: {b1 * 3000}\r\n\r\n",
        f"GET /v1/decision HTTP/1.1\r\nHost: x\r\nExpect: {b2}\r\n\r\n",
        f"POST /v1/decision HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\n\r\n{b1}\r\n{{}}\r\n0\r\n\r\n",
        f"POST /v1/decision HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {a1}{a2}\r\n\r\n{{\"age\": {a1}}}",
        f"GET /v1/decision?birthdate={b1}\x00\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for data in raws:
        answer = raw_exchange(port, data.encode("latin-1"))
        assert not answer.startswith(b"HTTP/1.1 5"), (data[:80], answer[:200])
    return len(answers)


def forbidden_in(text: str) -> list[str]:
    found = [value for value in (*BIRTHDATES, *OTHER_FORMS) if value in text]
    for age in AGES:
        found += re.findall(rf"(?i)age\W{{0,4}}{age}|{age}\s*years|=\s*{age}\b|:\s*{age}\b", text)
    return found


@pytest.mark.server
def test_no_age_or_birthdate_in_any_output_of_a_real_server(tmp_path):
    with running(RULES_DIR, tmp_path, workers=2, interval=0) as server:
        sent = send_everything(server.base, server.port)
        time.sleep(0.5)  # the workers' last lines land
    output = server.stdout() + server.stderr()
    lines = [line for line in output.splitlines() if line.strip()]
    requests_logged = [json.loads(line) for line in lines if '"event": "request"' in line]
    assert len(requests_logged) >= sent  # the request lines were written, and searched
    assert any('"event": "request"' not in line for line in lines)  # and the server's own lines
    assert not forbidden_in(output), forbidden_in(output)[:10]
    # Route templates and known methods only.
    assert {r["path"] for r in requests_logged} <= {"/v1/decision", "/healthz", "unmatched"}
    assert {r["method"] for r in requests_logged} <= {"GET", "POST", "OTHER"}
    assert any(r["path"] == "unmatched" for r in requests_logged)
    assert any(r["method"] == "OTHER" for r in requests_logged)
