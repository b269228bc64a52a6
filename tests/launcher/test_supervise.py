"""Stopping children: SIGTERM to the process group, SIGKILL after the timeout, nothing left,
grandchildren included; a child that cannot start is reported with its log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from llmscope_stack.supervise import Child, StartError, Supervisor, stop_child
from servicekit.errors import LLMscopeError
from testkit.fakeserver import FakeRequest, Script, Step, serving_in_thread
from testkit.realservers import free_port

# Ignores SIGTERM and leaves a grandchild behind in its process group.
STUBBORN = "trap '' TERM; sleep 300 & echo started; wait; wait"


def test_a_child_that_ignores_sigterm_is_killed_with_its_grandchildren(tmp_path: Path) -> None:
    process = subprocess.Popen(
        ["sh", "-c", STUBBORN], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"started\n"
    family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    assert len(family) == 2
    child = Child("stubborn", ("sh",), process, tmp_path / "log", "http://127.0.0.1:1/")
    stop_child(child, timeout=0.5)
    assert process.returncode is not None
    _, alive = psutil.wait_procs(family, timeout=5)
    assert alive == []


def test_a_child_that_exits_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, {}, None)
    code = "import sys; print('cannot bind :9090'); sys.exit(3)"
    with pytest.raises(StartError) as err:
        supervisor.start(
            "prometheus", [sys.executable, "-c", code], f"http://127.0.0.1:{free_port()}/"
        )
    log = tmp_path / "prometheus.log"
    assert (
        str(err.value) == f"prometheus exited with status 3: cannot bind :9090 (whole log: {log})"
    )
    supervisor.stop_all()


def test_a_missing_program_is_one_line(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, {}, None)
    with pytest.raises(
        StartError, match=r"^alertmanager: cannot start /nonexistent/am: No such file"
    ) as err:
        supervisor.start("alertmanager", ["/nonexistent/am"], "http://127.0.0.1:1/")
    assert isinstance(err.value, LLMscopeError)  # a leaf of the one error tree


def test_health_checks_go_direct_not_through_the_environments_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The children listen on 127.0.0.1; a proxy from http_proxy would see the bearer token
    # and could answer 200 for a child that is not listening at all.
    seen: list[FakeRequest] = []

    def proxy(request: FakeRequest) -> Script:
        seen.append(request)
        return Script(200, {}, [Step(b"ok")])

    with serving_in_thread(proxy) as server:
        monkeypatch.setenv("http_proxy", server.url)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        supervisor = Supervisor(tmp_path, {}, "s3cret-token")
        assert not supervisor._answers(f"http://127.0.0.1:{free_port()}/-/healthy")
    assert seen == []
