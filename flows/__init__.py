"""The composition layer: work that needs several domains (DESIGN §1). It may import every domain, never `api`."""
