"""The quarantine store: held messages, their records and the durable notice queue."""
