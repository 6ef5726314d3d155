"""api/server.py's settings and metrics directory, in process."""

from __future__ import annotations

import os

import pytest

from api.server import ServerConfigError, load_server_settings, prepare_metrics_dir


def test_defaults_and_overrides():
    settings = load_server_settings({})
    assert (settings.host, settings.port, settings.workers, settings.threads) == ("127.0.0.1", 8000, 2, 64)
    assert settings.metrics_bind is None
    custom = load_server_settings({"RIGHTSGATE_BIND": "0.0.0.0:9000", "RIGHTSGATE_WORKERS": "3",
                                   "RIGHTSGATE_METRICS_BIND": "127.0.0.1:9100",
                                   "RIGHTSGATE_HEADER_TIMEOUT": "2.5", "RIGHTSGATE_LOG_FLUSH_INTERVAL": "1"})
    assert (custom.host, custom.port, custom.workers) == ("0.0.0.0", 9000, 3)
    assert custom.metrics_bind == ("127.0.0.1", 9100) and custom.header_timeout == 2.5
    assert (settings.log_flush_interval, custom.log_flush_interval) == (0.2, 1.0)


@pytest.mark.parametrize("env", [
    {"RIGHTSGATE_BIND": "8000"}, {"RIGHTSGATE_BIND": "host:port"}, {"RIGHTSGATE_BIND": "h:70000"},
    {"RIGHTSGATE_WORKERS": "0"}, {"RIGHTSGATE_WORKERS": "two"}, {"RIGHTSGATE_THREADS": "-1"},
    {"RIGHTSGATE_HEADER_TIMEOUT": "nan"}, {"RIGHTSGATE_MAX_HEADER_BYTES": "4096"},
    {"RIGHTSGATE_METRICS_BIND": "9100"}, {"RIGHTSGATE_LOG_FLUSH_INTERVAL": "0"},
])
def test_bad_values_stop_the_server_with_a_message(env):
    with pytest.raises(ServerConfigError, match="RIGHTSGATE_"):
        load_server_settings(env)


def test_the_metrics_directory_is_emptied_at_start(tmp_path, monkeypatch):
    # Set (and so restored after the test) because prepare_metrics_dir overwrites it.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "unused"))
    stale = tmp_path / "counter_4242.db"
    stale.write_bytes(b"from a previous run")
    path = prepare_metrics_dir({"RIGHTSGATE_METRICS_DIR": str(tmp_path)})
    assert path == tmp_path and not stale.exists()
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
