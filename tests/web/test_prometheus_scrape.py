"""A real Prometheus scrapes protected servers with the settings docs/security.md shows."""

from __future__ import annotations

import time
from pathlib import Path

from servicekit.web.config import load_web
from testkit.realservers import Prometheus, prometheus
from tests.web.certs import Certs
from tests.web.test_server import REPO, serving, web_file

EXAMPLE_CA = REPO / "examples" / "tls" / "server.crt"


def up_by_job(prom: Prometheus) -> dict[str, float]:
    return {r["metric"]["job"]: float(r["value"][1]) for r in prom.query("up")}


def wait_for_jobs(prom: Prometheus, want: dict[str, float], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    up = up_by_job(prom)
    while up != want and time.monotonic() < deadline:
        time.sleep(0.3)
        up = up_by_job(prom)
    assert up == want


def test_prometheus_scrapes_with_basic_auth_bearer_token_and_client_cert(
    tmp_path: Path, certs: Certs
) -> None:
    (tmp_path / "password").write_text("example-password\n")
    (tmp_path / "token").write_text("Zq8-secret-token\n")
    example = load_web(str(REPO / "examples" / "web-config.yml"), {}, False)
    mtls = load_web(
        web_file(
            tmp_path,
            f"tls_server_config:\n  cert_file: {certs.server.cert}\n"
            f"  key_file: {certs.server.key}\n"
            f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {certs.ca}\n",
        ),
        {"LLMSCOPE_API_KEY": "Zq8-secret-token"},
        False,
    )
    with serving(example) as basic_port, serving(mtls) as mtls_port:
        config = f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: basic
    scheme: https
    tls_config: {{ca_file: {EXAMPLE_CA}}}
    basic_auth: {{username: prometheus, password_file: {tmp_path / "password"}}}
    static_configs: [{{targets: ["127.0.0.1:{basic_port}"]}}]
  - job_name: anonymous
    scheme: https
    tls_config: {{ca_file: {EXAMPLE_CA}}}
    static_configs: [{{targets: ["127.0.0.1:{basic_port}"]}}]
  - job_name: mtls
    scheme: https
    tls_config:
      ca_file: {certs.ca}
      cert_file: {certs.client.cert}
      key_file: {certs.client.key}
    authorization: {{credentials_file: {tmp_path / "token"}}}
    static_configs: [{{targets: ["127.0.0.1:{mtls_port}"]}}]
  - job_name: no-client-cert
    scheme: https
    tls_config: {{ca_file: {certs.ca}}}
    authorization: {{credentials_file: {tmp_path / "token"}}}
    static_configs: [{{targets: ["127.0.0.1:{mtls_port}"]}}]
"""
        with prometheus(config) as prom:
            wait_for_jobs(
                prom, {"basic": 1.0, "anonymous": 0.0, "mtls": 1.0, "no-client-cert": 0.0}
            )
            assert prom.query('llmscope_test_total{job="mtls"}')
