"""Event contracts, one module per family; `services.core.events` gathers them."""
