"""The records loadbay passes between its layers: typed, immutable, built once in the store."""
