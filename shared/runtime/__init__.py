"""The service runtime: nameko providers, shared entrypoints, errors, logs, calendar, campus."""
