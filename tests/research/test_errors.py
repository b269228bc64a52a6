"""The research commands raise only leaves of servicekit's one error tree."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import exporter.bench
import spc_rules.session
from servicekit.errors import LLMscopeError
from spc_rules.session.store import SessionError


def _error_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in (spc_rules.session, exporter.bench):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            loaded = importlib.import_module(module.name)
            for name, value in vars(loaded).items():
                if (
                    inspect.isclass(value)
                    and issubclass(value, BaseException)
                    and value.__module__ == loaded.__name__
                ):
                    found[f"{loaded.__name__}.{name}"] = value
    return found


def test_session_errors_are_leaves_of_the_error_tree() -> None:
    errors = _error_classes()
    assert errors == {"spc_rules.session.store.SessionError": SessionError}
    for error in errors.values():
        assert issubclass(error, LLMscopeError)
        assert error.__subclasses__() == []
    assert "SessionError" in (inspect.getdoc(importlib.import_module("servicekit.errors")) or "")
