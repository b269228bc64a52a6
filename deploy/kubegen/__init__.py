"""Kubernetes objects generated from the files the repository already has, so that the
manifests under ``deploy/kubernetes/generated/`` never drift from them:

- a PrometheusRule from ``prometheus/rules/*.yml`` (``rules.py``);
- an AlertmanagerConfig from the routes, inhibitions and receivers of
  ``alertmanager/alertmanager.yml`` (``alerting.py``);
- one ConfigMap per dashboard of ``grafana/dashboards/`` for Grafana's dashboard sidecar
  (``dashboards.py``).

``python -m deploy.kubegen`` writes them; ``tests/deploy`` regenerates and compares.
"""
