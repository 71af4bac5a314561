"""The public status page (Driftinformation) and its feeds, rendered from a StatusView."""
