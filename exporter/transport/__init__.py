"""The HTTP client side of probing: per-target connection pools and transport failure reasons."""
