"""Generative metrics, change metrics, and results as xarray Datasets."""
