"""Diffusion core, MetaEarth cascade, Changen2 (events + RS-DiT), the change detector.

Imports torch and its own field's libraries only (diffusers, timm, einops): no xarray, rasterio,
torchgeo or Earth Engine, so it runs on a bare GPU machine with PyTorch.
"""
