"""One thin module per resource: HTTP in, a domain service or flow called, a declared response model out."""
