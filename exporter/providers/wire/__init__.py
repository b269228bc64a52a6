"""Wire codecs the providers decode with: SSE, NDJSON lines, the AWS event stream, SigV4,
JSON error bodies."""
