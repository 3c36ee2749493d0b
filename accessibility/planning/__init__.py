"""Planning on top of an analysis: scenarios, ranking, critical sites, housing stock."""
