"""A school's staff list imported in one step (issue #15 item 6): read, preview, confirm.

`sheet` reads the CSV/XLSX into rows, `check` turns rows into a preview (each row's account or why
it is refused), `commit` writes the chosen rows in one transaction with one-time passwords.
Nothing is stored between preview and confirm: the confirm step sends the rows again and they are
checked again, so a username taken in between refuses the import instead of half-doing it.
"""

from archive.staff.check import lines_of, preview
from archive.staff.commit import import_lines, read_file
from archive.staff.sheet import MAX_BYTES

__all__ = ["MAX_BYTES", "import_lines", "lines_of", "preview", "read_file"]
