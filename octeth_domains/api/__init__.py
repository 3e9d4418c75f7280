"""The HTTP side: doors, parameters, authentication, rate limit, registry and envelopes."""
