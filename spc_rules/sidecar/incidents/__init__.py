"""Incidents: alarm episodes of one cause, across charts and series, as one page with its scope.

Each cycle the chart views' open episodes (and the failure runs of probes that fail outright)
become ``Movement`` records of probes (a target seen from a vantage); ``scope.decide`` groups
the probes that moved together into target, model, endpoint or vantage groups, with the
evidence in words; ``board.IncidentBoard`` keeps incidents across cycles (a short settle before
the page, growth in place, one resolution). docs/incidents.md has the decision and its
thresholds.
"""
