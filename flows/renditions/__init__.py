"""Renditions: what hoso makes beside an original, never over it (archive/renditions.py says which).

`run.py` is the job (claim, convert, store a derived version); one small module per tool
(`libreoffice.py`); `profiles.py` gives each worker a LibreOffice profile of its own.
"""
