"""Sub-commands of the `opstrack` CLI that live outside services/cli.py."""
