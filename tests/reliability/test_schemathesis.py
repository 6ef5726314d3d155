"""Item 2: schemathesis against the app's own /openapi.json, in process, every operation.

tests/api/test_contract.py runs a small positive-only smoke of the same document. This
run is the reliability gate: every documented operation (including GET /openapi.json,
which schemathesis leaves out of `get_all_operations`), both positive and negative
generation, at least MIN_REQUESTS generated requests in all (counted, and asserted),
bounded in time. For every answer: no 5xx, the status, Content-Type, headers and body
are what the document says, and every 4xx is RFC 9457 problem+json with type, title,
status and detail.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

MIN_REQUESTS = 1000
# Hypothesis stops early when it has exhausted a small input space (GET /healthz takes
# nothing but headers), so each run asks for more than its share and a top-up on the
# large operations makes up any shortfall.
HEADROOM = 1.25
TIME_BUDGET_SECONDS = 75
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
PROBLEM_MEMBERS = {"type": str, "title": str, "status": int, "detail": str}


def header(response, name: str) -> str:
    """One header of a schemathesis Response (its headers are lower-case keys to lists)."""
    values = response.headers.get(name.lower()) or [""]
    return values[0]


def assert_problem(response, label: str) -> None:
    """Every error answer is RFC 9457 problem+json with the members clients rely on."""
    if response.status_code < 400:
        return
    content_type = header(response, "Content-Type")
    assert content_type.split(";")[0].strip() == "application/problem+json", (label, response.status_code,
                                                                           content_type)
    body = json.loads(response.content)
    for member, kind in PROBLEM_MEMBERS.items():
        assert isinstance(body.get(member), kind), (label, member, body)
    assert body["status"] == response.status_code, (label, body)
    assert body["type"] == "about:blank" or body["type"].startswith("https://"), (label, body)
    assert isinstance(body.get("errors", []), list), (label, body)
    assert header(response, "Cache-Control") == "no-store", (label, response.headers)


def has_inputs(operation) -> bool:
    """Whether the document constrains anything a request sends (else nothing can be negated)."""
    return bool(list(operation.query) or list(operation.headers) or list(operation.body))


def test_every_operation_holds_its_contract_over_1000_generated_requests(app):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    if "GET /openapi.json" not in labels:
        operations.append(schema["/openapi.json"]["GET"])
    documented = {f"{method.upper()} {path}" for path, ops in schema.raw_schema["paths"].items()
                  for method in ops if method in ("get", "post", "put", "patch", "delete")}
    assert {op.label for op in operations} == documented, "an operation would go untested"

    count: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    started = time.monotonic()

    def run(operation, mode: GenerationMode, examples: int) -> None:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                  phases=[Phase.explicit, Phase.generate, Phase.shrink],
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            count[operation.label] += 1
            response = case.call_and_validate(checks=CHECKS)
            statuses[response.status_code] += 1
            assert_problem(response, operation.label)

        try:
            check()
        except Unsatisfiable:
            # Negative generation needs something the document constrains; an operation
            # whose every input is free has nothing to negate.
            if mode is GenerationMode.POSITIVE:
                raise
            nothing_to_negate.add(operation.label)

    nothing_to_negate: set[str] = set()
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    share = math.ceil(MIN_REQUESTS * HEADROOM / (len(operations) * len(modes)))
    for operation in operations:
        for mode in modes:
            if mode is GenerationMode.NEGATIVE and not has_inputs(operation):
                nothing_to_negate.add(operation.label)
                continue
            run(operation, mode, share)
    # Top up on the operations with large input spaces, within the time budget.
    decision = [op for op in operations if op.path == "/v1/decision"]
    rounds = 0
    while sum(count.values()) < MIN_REQUESTS and time.monotonic() - started < TIME_BUDGET_SECONDS:
        rounds += 1
        for operation in decision:
            for mode in modes:
                run(operation, mode, 50)

    total = sum(count.values())
    seconds = time.monotonic() - started
    assert not nothing_to_negate & {"GET /v1/decision", "POST /v1/decision"}
    print(f"schemathesis: {total} requests over {len(operations)} operations in {seconds:.1f} s "
          f"({rounds} top-up rounds); statuses {dict(sorted(statuses.items()))}; "
          f"per operation {dict(count)}; "
          f"nothing to negate in {sorted(nothing_to_negate)}")
    assert total >= MIN_REQUESTS
    assert set(count) == documented
    assert not any(status >= 500 for status in statuses)
    assert seconds < TIME_BUDGET_SECONDS + 15
