"""Maintenance scripts shipped with the task (making the data splits)."""
