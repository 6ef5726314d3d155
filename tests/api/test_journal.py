"""The request journal: entries recorded on the request path, written by its sinks in batches."""

from __future__ import annotations

import json
import logging
import time

from api.journal import RequestJournal
from api.logging import JsonFormatter, RequestLog, request_log

ENTRY = (1764576000.25, "GET", "/v1/decision", 200, 0.000123, "e08317d5dcba098a", "DE", "de")


def test_without_a_flush_interval_each_entry_is_written_when_recorded():
    batches: list[list] = []
    journal = RequestJournal([batches.append])
    journal.record(ENTRY)
    journal.record(ENTRY)
    assert batches == [[ENTRY], [ENTRY]]


def test_with_a_flush_interval_entries_wait_for_the_thread_and_are_not_lost():
    batches: list[list] = []
    journal = RequestJournal([batches.append])
    journal.start_flushing(0.05)
    for _ in range(500):
        journal.record(ENTRY)
    written = sum(len(batch) for batch in batches)
    assert written < 500  # nothing is written on the request path
    deadline = time.monotonic() + 10
    while sum(len(batch) for batch in batches) < 500:
        assert time.monotonic() < deadline, "the flush thread did not write the entries"
        time.sleep(0.02)
    assert max(len(batch) for batch in batches) > 1  # written in batches
    assert sum(len(batch) for batch in batches) == 500


def test_a_failing_sink_costs_the_other_sinks_nothing(caplog):
    def broken(batch: list) -> None:
        raise RuntimeError("disk full")

    kept: list[list] = []
    journal = RequestJournal([broken, kept.append])
    with caplog.at_level(logging.ERROR, logger="rightsgate.journal"):
        journal.record(ENTRY)
    assert kept == [[ENTRY]]
    assert any(getattr(r, "event", None) == "journal_sink_failed" for r in caplog.records)


def _direct_lines(capsys, entries: list) -> list[dict]:
    capsys.readouterr()
    RequestLog()(entries)
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def _formatted_lines(entries: list) -> list[dict]:
    """The same entries through an ordinary handler with the JSON formatter."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    request_log.addHandler(handler)  # now RequestLog takes the ordinary logging path
    try:
        RequestLog()(entries)
    finally:
        request_log.removeHandler(handler)
    return [json.loads(line) for line in lines]


def test_the_batched_line_is_the_json_formatters_line(app, capsys):
    """RequestLog's template (one write per batch) and JsonFormatter write the same objects,
    and both make the client's method and path safe."""
    entries = [ENTRY, (1764576001.0, "AGE97", "/v1/decision/1931-07-19", None, 1.5, None, None, None),
               (1764576061.5, "OPTIONS", "/healthz", 204, 0.0, "e08317d5dcba098a", None, None)]
    direct, formatted = _direct_lines(capsys, entries), _formatted_lines(entries)
    assert len(direct) == len(formatted) == 3
    for a, b in zip(direct, formatted, strict=True):
        assert list(a) == list(b)  # same keys, same order
        assert a == b | {"pid": a["pid"]}
    assert direct[0]["ts"] == "2025-12-01T08:00:00.250Z"
    assert direct[0]["duration_ms"] == 0.123
    assert (direct[1]["method"], direct[1]["path"], direct[1]["status"]) == ("OTHER", "unmatched", None)
    assert "1931" not in json.dumps(direct) and "97" not in direct[1]["method"]


def test_the_front_records_each_request_once_whoever_answers(app, client):
    from api import JOURNAL

    batches: list[list] = []
    app.extensions[JOURNAL].add_sink(batches.append)
    client.get("/v1/decision?jurisdiction=NL&age=40")  # Flask
    client.get("/v1/decision?jurisdiction=NL&age=40")  # the front (remembered)
    client.get("/nowhere")
    entries = [entry for batch in batches for entry in batch]
    assert [(e[1], e[2], e[3], e[6]) for e in entries] == [
        ("GET", "/v1/decision", 200, "NL"), ("GET", "/v1/decision", 200, "NL"),
        ("GET", "/nowhere", 404, None)]
    assert entries[0][5] == entries[1][5] == app.extensions["rightsgate"].serving.version


def test_a_large_backlog_is_written_in_chunks_and_completely():
    from api.journal import CHUNK

    batches: list[list] = []
    journal = RequestJournal([batches.append])
    journal.start_flushing(3600)
    for index in range(CHUNK * 3 + 5):
        journal.record((float(index), *ENTRY[1:]))
    journal.flush()
    assert [len(batch) for batch in batches] == [CHUNK, CHUNK, CHUNK, 5]
    assert [entry[0] for batch in batches for entry in batch] == [float(i) for i in range(CHUNK * 3 + 5)]
