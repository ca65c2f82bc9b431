"""Files in and out: checked input paths, image writing (PNG, GIF, grids), real-image data sets."""
