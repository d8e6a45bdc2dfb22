"""Maintenance scripts shipped with the task (instance generation)."""
