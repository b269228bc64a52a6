"""Typed reading of YAML documents with exact, line-numbered problem reports.

PyYAML's composed node tree keeps the line of every key and value, so a reader walks
that tree instead of plain dicts and can say ``config.yml:12: targets[1].interval: ...``.
All problems are collected; the caller raises once with every line, as blackbox_exporter
and Prometheus do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml

from servicekit.errors import ConfigError

T = TypeVar("T")

_DURATION_RE = re.compile(
    r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?(?:(?P<ms>\d+)ms)?$"
)
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float:
    """Parse a Prometheus-style duration (``1h30m``, ``15s``, ``250ms``) into seconds.

    Raises ValueError with a message fit for a config error line.
    """
    match = _DURATION_RE.match(text.strip())
    if not text.strip() or match is None or not any(match.groupdict().values()):
        raise ValueError(f'bad duration "{text}" (use e.g. 250ms, 15s, 1m30s, 2h)')
    return sum(
        float(value) * _UNIT_SECONDS[unit]
        for unit, value in match.groupdict().items()
        if value is not None
    )


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a document, located by YAML path and 1-based line."""

    source: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.source}:{self.line}: {where}{self.message}"


class DocumentError(ConfigError):
    """Every problem found in one document; ``str()`` gives one line per problem."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


INVALID = object()  # what Reader.scalar returns for a value it already reported


def join_path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


@dataclass
class Reader:
    """Walks a composed YAML tree, converting scalars and recording problems."""

    source: str
    problems: list[Problem] = field(default_factory=list)
    _constructor: yaml.SafeLoader = field(default_factory=lambda: yaml.SafeLoader(""))

    @classmethod
    def parse(cls, text: str, source: str) -> tuple[Reader, yaml.Node | None]:
        """Compose ``text``; a syntax error becomes a problem, not an exception."""
        reader = cls(source)
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            detail = getattr(err, "problem", None) or str(err).splitlines()[0]
            reader.problems.append(Problem(source, line, "", f"invalid YAML: {detail}"))
            return reader, None
        return reader, root

    def fail(self, node: yaml.Node | None, path: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.source, line, path, message))

    def check(self) -> None:
        if self.problems:
            raise DocumentError(sorted(self.problems, key=lambda p: p.line))

    # Structure -----------------------------------------------------------------

    def mapping(
        self, node: yaml.Node, path: str, allowed: Iterable[str]
    ) -> dict[str, yaml.Node] | None:
        """Return the keys of a mapping node; unknown and repeated keys are problems."""
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, path, f"expected a mapping, got {_kind(node)}")
            return None
        allowed_set = set(allowed)
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.fail(key_node, path, "keys must be strings")
                continue
            child = join_path(path, key)
            if key not in allowed_set:
                hint = ", ".join(sorted(allowed_set))
                self.fail(key_node, child, f'unknown key "{key}" (known: {hint})')
            elif key in out:
                self.fail(key_node, child, "key given twice")
            else:
                out[key] = value_node
        return out

    def sequence(self, node: yaml.Node, path: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, path, f"expected a list, got {_kind(node)}")
            return None
        return list(node.value)

    # Scalars -------------------------------------------------------------------

    def scalar(self, node: yaml.Node, path: str) -> object:
        """The value of a scalar node; ``INVALID`` once a problem about it is recorded."""
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, path, f"expected a single value, got {_kind(node)}")
            return INVALID
        try:
            return self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError) as err:  # e.g. an unknown tag, or !!int abc
            detail = getattr(err, "problem", None) or str(err).splitlines()[0]
            self.fail(node, path, f"cannot read this value: {detail}")
            return INVALID

    def string(self, node: yaml.Node, path: str) -> str | None:
        value = self.scalar(node, path)
        if value is INVALID:
            return None
        if isinstance(value, str) and value:
            return value
        if value is not None or isinstance(node, yaml.ScalarNode):
            self.fail(node, path, f"expected a non-empty string, got {_describe(value)}")
        return None

    def boolean(self, node: yaml.Node, path: str) -> bool | None:
        value = self.scalar(node, path)
        if value is INVALID:
            return None
        if isinstance(value, bool):
            return value
        self.fail(node, path, f"expected true or false, got {_describe(value)}")
        return None

    def integer(self, node: yaml.Node, path: str, minimum: int | None = None) -> int | None:
        value = self.scalar(node, path)
        if value is INVALID:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(node, path, f"expected a whole number, got {_describe(value)}")
            return None
        if minimum is not None and value < minimum:
            self.fail(node, path, f"must be at least {minimum}, got {value}")
            return None
        return value

    def number(self, node: yaml.Node, path: str, minimum: float | None = None) -> float | None:
        value = self.scalar(node, path)
        if value is INVALID:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            self.fail(node, path, f"expected a number, got {_describe(value)}")
            return None
        if minimum is not None and value < minimum:
            self.fail(node, path, f"must be at least {minimum}, got {value}")
            return None
        return float(value)

    def duration(self, node: yaml.Node, path: str, positive: bool = True) -> float | None:
        value = self.scalar(node, path)
        if value is INVALID:
            return None
        if not isinstance(value, str):
            self.fail(node, path, f'expected a duration such as "15s", got {_describe(value)}')
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as err:
            self.fail(node, path, str(err))
            return None
        if positive and seconds <= 0:
            self.fail(node, path, "duration must be greater than zero")
            return None
        return seconds

    def choice(
        self, node: yaml.Node, path: str, options: Iterable[str], what: str = "value"
    ) -> str | None:
        value = self.string(node, path)
        known = sorted(options)
        if value is not None and value not in known:
            self.fail(node, path, f'unknown {what} "{value}" (known: {", ".join(known)})')
            return None
        return value

    def optional(
        self,
        keys: Mapping[str, yaml.Node],
        key: str,
        path: str,
        convert: Callable[[yaml.Node, str], T | None],
        default: T,
    ) -> T:
        """Convert ``keys[key]`` if present, else return ``default``; failures fall back too."""
        node = keys.get(key)
        if node is None:
            return default
        value = convert(node, join_path(path, key))
        return default if value is None else value


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "a single value"


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def read_file(path: str | Path, what: str = "config file") -> str:
    """A config file's text, or a ConfigError naming the absolute path that was tried."""
    full = Path(path).absolute()
    try:
        return full.read_text(encoding="utf-8")
    except OSError as err:
        reason = err.strerror or type(err).__name__
    except UnicodeDecodeError:
        reason = "not UTF-8 text"
    raise ConfigError(f"{full}: cannot read {what}: {reason}")


def load_document(
    text: str,
    source: str,
    build: Callable[[Reader, yaml.Node], T | None],
    empty: Callable[[], T] | None = None,
) -> T:
    """Parse ``text`` and build a config from its root; every problem found, the builder's
    and the parser's, is raised at once as one DocumentError (a ConfigError). An empty
    document is an error unless ``empty`` makes its value."""
    reader, root = Reader.parse(text, source)
    result = None if root is None else build(reader, root)
    reader.check()
    if result is not None:
        return result
    if empty is None:
        raise ConfigError(f"{source}:1: the file is empty")
    return empty()
