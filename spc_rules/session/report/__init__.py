"""``session report``: the HTML page (``page``), its Plotly figures (``figures``,
``sidebyside``, ``sustainability``), tables and the matplotlib PNG export (``png``)."""

from spc_rules.session.report.page import write

__all__ = ["write"]
