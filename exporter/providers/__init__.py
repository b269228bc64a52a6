"""Provider modules, one per wire format, the protocol they implement, and their table.

The package itself imports nothing, so loading one provider (or the protocol types) never
loads the others: ``exporter.providers.table`` is the one place that lists them all.
"""
