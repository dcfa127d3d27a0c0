"""Technician role: device links, live event log, position files."""
