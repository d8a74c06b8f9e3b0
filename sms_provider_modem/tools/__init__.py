# Pure Python helpers: no ORM in here, tested without a database.
