"""Canary questions: fixed prompts at temperature 0, answer drift against the modal answer, and
`expect` checks (docs/exporter.md, "Canary questions")."""
