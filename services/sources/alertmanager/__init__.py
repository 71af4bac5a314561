"""Alertmanager webhooks: alerts → incident events by config/alerts.yaml."""
