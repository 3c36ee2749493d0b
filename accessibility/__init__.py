"""Docking-point accessibility analyzer.

Door-to-door walking coverage of low-threshold contact points ("Andockstellen")
from OpenStreetMap and census grids.
"""

__version__ = "0.1.0"
