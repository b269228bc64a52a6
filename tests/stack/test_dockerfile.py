"""Static checks of the Dockerfile and .dockerignore (no Docker engine runs here)."""

from __future__ import annotations

import tomllib

from tests.stack import compose
from tests.stack.dashboards import ROOT
from tests.stack.dockerfile import (
    Instruction,
    copy,
    exec_form,
    ignore_patterns,
    ignored,
    instructions,
)

DOCKERFILE = instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))
IGNORE = ignore_patterns((ROOT / ".dockerignore").read_text(encoding="utf-8"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SCRIPTS = PYPROJECT["project"]["scripts"]


def _final_stage() -> list[Instruction]:
    starts = [i for i, ins in enumerate(DOCKERFILE) if ins.keyword == "FROM"]
    return DOCKERFILE[starts[-1] :]


def _one(keyword: str) -> Instruction:
    (found,) = [i for i in _final_stage() if i.keyword == keyword]
    return found


def test_every_stage_builds_from_a_pinned_python_slim_tag() -> None:
    bases = [i.args.split()[0] for i in DOCKERFILE if i.keyword == "FROM"]
    assert bases
    for base in bases:
        image, _, tag = base.partition(":")
        assert image == "python", base
        assert tag.startswith("3.11") and "slim" in tag, f"{base}: pin python:3.11-slim*"


def test_the_image_runs_as_a_non_root_user() -> None:
    user = _one("USER").args.split(":")[0]
    assert user not in ("root", "0", ""), user
    created = " ".join(i.args for i in _final_stage() if i.keyword == "RUN")
    assert f"--uid {user}" in created, "the USER must exist in the image"


def test_entrypoints_are_console_scripts_of_the_project() -> None:
    (entrypoint, *_) = exec_form(_one("ENTRYPOINT").args)
    assert _one("ENTRYPOINT").args.startswith("["), "exec form, so signals reach the process"
    assert entrypoint == "llmscope-exporter"
    assert entrypoint in SCRIPTS
    spc = compose.load()["services"]["spc"]["entrypoint"]
    assert spc == ["llmscope-spc"] and spc[0] in SCRIPTS


def test_copy_sources_exist_and_are_in_the_build_context() -> None:
    copies = [copy(i.args) for i in DOCKERFILE if i.keyword == "COPY"]
    sources = [s for c in copies if c.stage is None for s in c.sources]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not ignored(source, IGNORE), f"COPY {source}: excluded by .dockerignore"


def test_the_build_stage_copies_everything_pip_needs() -> None:
    copied = {s for i in DOCKERFILE if i.keyword == "COPY" for s in copy(i.args).sources}
    packages = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {"pyproject.toml", PYPROJECT["project"]["readme"]}
    needed |= {p.removesuffix("*") for p in packages}
    assert needed <= copied, needed - copied


def test_the_image_exposes_both_service_ports_and_checks_health() -> None:
    assert {"8465", "8466"} <= set(_one("EXPOSE").args.split())
    env = _one("ENV").args
    assert "LLMSCOPE_HEALTH_URL=http://127.0.0.1:8465/-/healthy" in env
    assert "LLMSCOPE_HEALTH_URL" in _one("HEALTHCHECK").args


def test_dockerignore_keeps_secrets_caches_and_tests_out() -> None:
    for path in (".venv/bin/python", ".git/config", ".env", "testkit/realservers.py"):
        assert ignored(path, IGNORE), path
    for path in ("exporter/__pycache__/cli.cpython-311.pyc", "spc_rules/x.pyc"):
        assert ignored(path, IGNORE), path
    for path in ("pyproject.toml", "exporter/cli.py", "spc_rules/data/default.yml"):
        assert not ignored(path, IGNORE), path
