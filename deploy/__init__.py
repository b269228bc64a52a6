"""Deployment artefacts built from the repository's own files (not shipped in the wheel)."""
