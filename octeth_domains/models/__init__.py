"""All SQL of the service lives in this package, one module per table family."""
