"""Shipped data: demo profile, themes, icons. Read through importlib.resources so a frozen build finds them too."""
