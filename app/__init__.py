"""Dispatch Console application layer: what the console does (channels, PTT, calls, ALI, storage, config).

May use PySide6.QtCore; never QtWidgets/QtGui. Pure subpackages (app.dsp, app.ali) use no Qt at all.
"""

from importlib.metadata import PackageNotFoundError, version as _dist_version

try:
    __version__ = _dist_version("dispatch-console")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
