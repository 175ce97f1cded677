"""Events out: webhook endpoints of a company, the outbox of events, and their delivery."""
