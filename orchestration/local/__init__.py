"""Local runs: one pipeline run on this machine, its run guard and its console progress."""
