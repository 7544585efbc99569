# Users and groups are managed in Django's admin (staff only). Endpoints and their
# secrets are not registered here: they go only through the console's own forms,
# which keep secrets write-only.
