"""The replicated bot alias in the DR region: ready, and calling that region's code hook (a custom resource)."""
