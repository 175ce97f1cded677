"""Organisatrice: compose, send and archive work-order emails for field-service companies."""

import os

# Piccolo finds its engine through this variable; our configuration lives inside the package.
os.environ.setdefault("PICCOLO_CONF", "organisatrice.piccolo_conf")
