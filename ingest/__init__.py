"""Sources (Earth Engine, local rasters, the synthetic world) and the corpus writer. Imports no torch."""
