from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from config.malloc import keep_large_blocks

keep_large_blocks()  # the overview's multi-MB documents without page faults (config/malloc.py)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()
