"""Simulated devices: first-class drivers that run on their own threads, with jitter, like hardware.

The demo profile wires every device to one of these, and tests use the same ones.
"""
