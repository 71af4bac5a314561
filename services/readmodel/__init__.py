"""The read model: the store queries that produce the figures the API, the report and the metrics show."""
