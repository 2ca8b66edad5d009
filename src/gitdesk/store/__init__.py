"""Reading a desk at a revision and writing actions as commits."""
