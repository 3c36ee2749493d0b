"""Writers and renderers: files, layers, maps, reports (they format computed results)."""
