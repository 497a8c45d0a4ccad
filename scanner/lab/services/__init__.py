"""Protocol servers of the emulator; each answers from a device profile's data."""
