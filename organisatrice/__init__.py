"""Organisatrice: compose, send and archive work-order emails for field-service companies."""
