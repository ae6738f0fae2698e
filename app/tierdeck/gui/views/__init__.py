"""The other tabs: log, clients, benchmark."""
