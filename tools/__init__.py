"""Command-line tools of the tiler and the engines behind them (installed as `tiler_tools`)."""
