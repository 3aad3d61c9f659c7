"""Evidence packages: built for an inspector (`package`), verified offline (`verify`, `crosscheck`),
explained (`report`)."""
