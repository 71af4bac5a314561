"""Foreign formats, one package each: parsing and mapping (pure), file reading, the CLI command."""
