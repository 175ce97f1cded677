"""The one SMTP path: MIME building, the outbox and its worker, inbound delivery reports."""
