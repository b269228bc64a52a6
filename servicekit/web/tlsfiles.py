"""TLS contexts that follow their certificate files: built when the config is read (a wrong
file stops the start with its YAML line), and built again from the same section when a file
changes, so a certificate renewed in place (cert-manager, an ACME client) or a rotated CA
needs no restart.

The files are small and read whole for each check (a connection the server accepts, a
request the sidecar sends), as Prometheus' client and the exporter-toolkit do; a hash of
their bytes, not their modification times, tells a change, so a renewal within the same
second is seen. Files that do not load are not built again until they change.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import ssl
import stat
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from servicekit.errors import LLMscopeError
from servicekit.yamlconf import Reader, join_path

log = logging.getLogger("llmscope.web")

Build = Callable[[Reader], ssl.SSLContext | None]  # None: the problems are in the reader


class TLSFilesError(LLMscopeError):
    """The TLS files changed and no longer make a context (or cannot be read)."""


@dataclass(eq=False)
class ReloadingContext:
    """The context of one TLS section, as its files are now."""

    build: Build = field(repr=False)
    source: str  # the config file, for messages
    section: str  # tls_config, tls_server_config
    files: tuple[Path, ...]
    # SHA-256 of the files the context was built from (not their bytes: one is a key).
    _digest: bytes = field(repr=False)
    _context: ssl.SSLContext = field(repr=False)
    # Files that did not load, and why: not built again until they change.
    _failed: tuple[bytes, str] | None = field(default=None, repr=False)
    _warned: str = field(default="", repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def context(self) -> ssl.SSLContext:
        """The same context while the files are unchanged, a new one once they changed;
        TLSFilesError while they cannot be read or do not load together."""
        digest = fingerprint(self.files)
        with self._lock:
            if digest == self._digest:
                return self._context
            if self._failed is not None and self._failed[0] == digest:
                raise TLSFilesError(self._failed[1])
            # Read before building: a change landing in between is seen at the next check.
            reader = Reader(self.source)
            context = self.build(reader)
            if context is None:
                problem = reader.problems[0] if reader.problems else "cannot be loaded"
                self._failed = (digest, f"{self.section} changed: {problem}")
                raise TLSFilesError(self._failed[1])
            self._context, self._digest, self._failed = context, digest, None
        log.info("%s files changed: the TLS context is built from them anew", self.section)
        return context

    def for_connection(self) -> ssl.SSLContext | None:
        """For a server: ``context()``, or None (the connection refused) while the files do
        not load, with one warning per problem. As exporter-toolkit, which fails the
        handshake: serving on with the previous files would keep trusting a client CA that
        was rotated away."""
        try:
            context = self.context()
        except TLSFilesError as err:
            if str(err) != self._warned:
                self._warned = str(err)
                log.warning("%s; connections are refused until the files load", err)
            return None
        self._warned = ""
        return context


def reloading(
    reader: Reader,
    build: Build,
    node: yaml.Node | None,
    section: str,
    *,
    keys: Mapping[str, yaml.Node],
    names: Iterable[str],
    base: Path,
) -> ReloadingContext | None:
    """The section's context, built now (its problems reported to ``reader``: None), and
    followed through the files its ``keys`` name under ``names``, resolved against
    ``base``."""
    paths = tuple(_named(reader, keys, names, base, section))
    try:
        digest = fingerprint(paths)  # before building: see ReloadingContext.context
    except TLSFilesError:
        digest = b""  # a file that cannot be read: build reports it with its line
    context = build(reader)
    if context is None:
        return None
    return ReloadingContext(build, reader.source, section, paths, digest, context)


def _named(
    reader: Reader, keys: Mapping[str, yaml.Node], names: Iterable[str], base: Path, section: str
) -> list[Path]:
    """The files a section names under ``names``, resolved against ``base``."""
    out = []
    for key in names:
        if key in keys:
            name = reader.string(keys[key], join_path(section, key))
            if name is not None:
                out.append((base / name).absolute())  # the working directory may change
    return out


def fingerprint(files: tuple[Path, ...]) -> bytes:
    """SHA-256 over the files' bytes (a few kilobytes each); TLSFilesError naming one that
    cannot be read."""
    digest = hashlib.sha256()
    for path in files:
        try:
            data = read_small(path)
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise TLSFilesError(f'cannot read "{path}": {reason}') from None
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.digest()


SMALL_FILE = 1 << 20  # a certificate chain, a key, a secret, a web config: kilobytes


def read_small(path: Path, limit: int = SMALL_FILE) -> bytes:
    """A file read again while the service runs (a secret, a certificate, the web config):
    a regular file of at most ``limit`` bytes, else OSError saying which. A FIFO would block
    the thread until a writer came, /dev/zero would fill memory; neither is waited for."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens without a writer
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise OSError(errno.EFBIG, f"larger than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)
