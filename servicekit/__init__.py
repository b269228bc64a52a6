"""Plumbing shared by LLMscope's two services: web serving, auth and TLS, flags, logging,
config-file reading, the version and the error tree. Imports nothing of the project's other
packages, so both services depend on it and it depends on neither."""
