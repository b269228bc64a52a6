"""What the sidecar logs about failing queries and charts: each kind of failure once when it
begins, and the recovery once when it ends; the count of failed cycles sets the backoff."""

from __future__ import annotations

import logging

from spc_rules.sidecar.query.promapi import QueryError

log = logging.getLogger("llmscope.spc")


class FailureLog:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.failed_cycles = 0
        self._failing: set[str] = set()  # kinds of query failure of the last cycle
        self._broken: set[str] = set()  # charts whose evaluation raised in the last cycle
        self._breaking: set[str] = set()  # ... in the cycle under way

    def broke(self, name: str) -> None:
        """A chart's decoding or evaluation raised (call inside the ``except``): the
        traceback is logged when the chart starts failing."""
        if name not in self._broken and name not in self._breaking:
            log.exception("chart %s: evaluation failed; serving its last good results", name)
        self._breaking.add(name)

    def cycle_ended(self, errors: dict[str, QueryError]) -> set[str]:
        """Log what began and ended in this cycle; returns the charts that failed."""
        for name in sorted(self._broken - self._breaking):
            log.info("chart %s: evaluated again", name)
        broken, self._broken, self._breaking = self._breaking, self._breaking, set()
        logged = set(self._failing)
        for name, err in errors.items():
            if err.reason not in logged:
                logged.add(err.reason)
                log.error(
                    "chart %s: query to %s failed (%s): %s; serving the last good results",
                    name,
                    self.base_url,
                    err.reason,
                    err,
                )
        if errors:
            self.failed_cycles += 1
        else:
            if self._failing:
                log.info(
                    "queries to %s succeed again after %d failed cycles",
                    self.base_url,
                    self.failed_cycles,
                )
            self.failed_cycles = 0
        self._failing = {err.reason for err in errors.values()}
        return set(errors) | broken
