"""The one exception the storage layer raises for problems a user or technician must act on."""


class StoreError(Exception):
    """The event store cannot be opened, migrated, read or written as asked.

    Messages name the database file, so the console can show them as they are.
    """
