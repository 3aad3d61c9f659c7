"""The kernel of hoso: schools, people, record types, records and immutable versions.

Everything else (signing, retention, search, the API) stands on this package; it imports none of
them.
"""
