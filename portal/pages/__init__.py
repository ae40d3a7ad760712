"""The portal's page areas; each module has a ``router`` listed in ``portal.app.PAGE_MODULES``."""
