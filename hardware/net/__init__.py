"""Network links: the console as a TCP server for devices that connect to it (``tcp-listen://``).

Serial-over-IP links where the console connects out (``socket://``, ``rfc2217://``) are pyserial URLs
and live in ``hardware.serial``.
"""
