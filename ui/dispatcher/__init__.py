"""Dispatcher role: channel tiles, multi-select, push-to-talk."""
