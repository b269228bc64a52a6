"""A Dockerfile and its .dockerignore read line by line, for static checks without Docker."""

from __future__ import annotations

import fnmatch
import json
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, COPY, RUN, ...
    args: str
    line: int


def instructions(text: str) -> list[Instruction]:
    """Instructions with backslash continuations joined; comments and directives dropped."""
    out: list[Instruction] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
        pending = ""
    return out


def exec_form(args: str) -> list[str]:
    """A JSON array (exec form) or a shell-form command, as a list of words."""
    if args.startswith("["):
        words: list[str] = json.loads(args)
        return words
    return shlex.split(args)


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]
    destination: str
    stage: str | None  # --from=<stage>: copied from another stage, not the context


def copy(args: str) -> Copy:
    words = exec_form(args)
    flags = [w for w in words if w.startswith("--")]
    paths = [w for w in words if not w.startswith("--")]
    stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
    return Copy(tuple(paths[:-1]), paths[-1], stage)


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore ``patterns`` keep ``path`` out of the build context.

    As Docker does: the last matching pattern wins, ``!`` re-includes, and a pattern that
    matches a directory matches everything below it.
    """
    parts = Path(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.removeprefix("!").strip("/")
        if any(_match(c, body) for c in candidates):
            result = not negated
    return result


def _match(path: str, pattern: str) -> bool:
    if pattern.startswith("**/"):
        tail = pattern.removeprefix("**/")
        return any(_match("/".join(path.split("/")[i:]), tail) for i in range(len(path.split("/"))))
    return fnmatch.fnmatchcase(path, pattern)


def ignore_patterns(text: str) -> list[str]:
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
