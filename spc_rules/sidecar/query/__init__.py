"""Reading Prometheus: the HTTP API client, the matrix decoder, the raw-sample cache, and the
points rebuilt from each histogram's _sum/_count."""
