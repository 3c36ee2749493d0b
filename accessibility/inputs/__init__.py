"""Input readers: OSM, sites, population, geocoding, downloads."""
