"""Device layer: serial ports, sound devices, MIDI, rigctld and simulators.

Plain Python threads and callbacks. Imports neither PySide6 nor app/ nor ui/. Device libraries
(serial, sounddevice, rtmidi, pyaudio) are imported inside the driver that needs them, so a machine
without them still starts.
"""
