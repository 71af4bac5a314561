"""Ticket system webhooks (Zammad, GLPI, ...): payloads → ticket events by config/webhooks/<source>.yaml."""
