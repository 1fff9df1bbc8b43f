"""Your data: export, import, account deletion and retention."""
