"""Event sourcing: the decider shape, the store, the unit of work, projections, rebuilds."""
