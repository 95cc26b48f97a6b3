"""Notify: how news reaches people. In-app notifications and their texts in the recipient's language,
the e-mail digests, and webhooks (signed, checked targets) with their deliveries. Other contexts
decide *what* to say (reminders, urges, reviews); this one delivers it."""
