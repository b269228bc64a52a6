"""Certificates shared by the web tests: made once per session with the openssl CLI."""

from __future__ import annotations

import pytest

from tests.web.certs import Certs, make_certs


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))
