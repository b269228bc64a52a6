"""The listening side of ``server.WebServer``: a thread per connection, at most so many at
once, and TLS wrapped in the connection's own thread with the context of the moment."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any, Protocol

from servicekit.web.tlsfiles import ReloadingContext

log = logging.getLogger("llmscope.web")

#: Seconds a client gets to finish the TLS handshake before its connection is dropped.
HANDSHAKE_TIMEOUT = 10.0


class HasTLS(Protocol):
    """What a connection needs of the settings (``server.Serving`` has it)."""

    @property
    def tls(self) -> ReloadingContext | None: ...


class Listener(ThreadingHTTPServer):
    """Runs the TLS handshake in the connection's own thread, not in ``accept``.

    With the handshake in ``accept``, one client that connects and stays silent would
    stall the accept loop for everyone; here it only holds its own thread, for at most
    HANDSHAKE_TIMEOUT, and a failed handshake (say, plain HTTP on the TLS port) just
    closes that connection. Each connection is wrapped with the context as its files are
    now (``tlsfiles.ReloadingContext.for_connection``): a renewed certificate needs no restart.
    """

    daemon_threads = True
    tls = False  # whether connections speak TLS: fixed at start, the context is not
    settings: Callable[[], HasTLS | None] = staticmethod(lambda: None)
    # A thread per connection, each holding up to 64 KiB of headers: clients that connect
    # and trickle (or never finish) are turned away past this, not given thread after
    # thread. Prometheus scrapes over one or two kept-alive connections.
    slots: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            log.debug("all connections in use: %s turned away", client_address)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: its slot is free again
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def finish_request(self, request: Any, client_address: Any) -> None:
        if not self.tls:
            super().finish_request(request, client_address)
            return
        serving = self.settings()
        tls = serving.tls if serving is not None else None
        context = tls.for_connection() if tls is not None else None
        if context is None:  # the files do not load now (warned): refused, as a failed handshake
            return  # process_request_thread closes the socket
        try:
            # A client that sent data and reset the connection fails already here.
            wrapped = context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except (OSError, ValueError) as err:
            log.debug("TLS connection from %s failed: %s", client_address, err)
            return
        # The wrapped socket took the connection over; process_request_thread's own
        # shutdown of the plain one then does nothing, so this one is shut down here.
        try:
            wrapped.settimeout(HANDSHAKE_TIMEOUT)
            try:
                wrapped.do_handshake()
            except (OSError, ValueError) as err:  # ssl.SSLError and timeouts are OSErrors
                log.debug("TLS handshake with %s failed: %s", client_address, err)
                return
            wrapped.settimeout(None)
            super().finish_request(wrapped, client_address)
        finally:
            self.shutdown_request(wrapped)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-request (a scrape that timed out, a closed curl) is
        # the client's business: one debug line, not socketserver's traceback on stderr.
        err = sys.exc_info()[1]
        if isinstance(err, ConnectionError):
            log.debug("client %s went away: %s", client_address, err)
            return
        super().handle_error(request, client_address)
