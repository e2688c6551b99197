"""xDSL passes of the tiler (installed as `tiler_passes`)."""
