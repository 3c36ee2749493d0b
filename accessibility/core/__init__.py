"""Core computation: walking network, routing, analysis, coverage, isochrones."""
